<#
.SYNOPSIS
    Exports the Exchange configuration tlsflow needs, one JSON file per cmdlet. READ-ONLY.

.DESCRIPTION
    THIS SCRIPT EXPORTS NO MESSAGE CONTENT. It runs only Get-* cmdlets and changes nothing. It
    reads configuration (AD sites and site links, Exchange servers, transport services, Send and
    Receive connectors, Edge subscriptions, transport rules, transport configuration, accepted
    domains, mailbox databases, DAGs) and, for a sample of mailboxes, only their primary SMTP
    address and database. No message, subject, body, attachment or tracking log is read.

    Shells: the Exchange Management Shell of Exchange 2013, 2016, 2019 or Subscription Edition,
    or a remote PowerShell session to an Exchange server (Import-PSSession); Windows PowerShell
    5.1 or PowerShell 7. Rights: View-Only Organization Management. It writes into -OutputFolder:

        manifest.json                      what ran: each cmdlet, its status, its count, its error
        Get-ADSite.json                    Get-ADSite
        Get-AdSiteLink.json                Get-AdSiteLink (ADCost, ExchangeCost and Cost)
        Get-ExchangeServer.json            Get-ExchangeServer
        Get-TransportService.json          Get-TransportService
        Get-FrontendTransportService.json  Get-FrontendTransportService
        Get-SendConnector.json             Get-SendConnector
        Get-ReceiveConnector.json          Get-ReceiveConnector
        Get-EdgeSubscription.json          Get-EdgeSubscription
        Get-TransportRule.json             Get-TransportRule -ResultSize Unlimited
        Get-TransportConfig.json           Get-TransportConfig
        Get-AcceptedDomain.json            Get-AcceptedDomain
        Get-MailboxDatabase.json           Get-MailboxDatabase -Status -IncludePreExchange2013
        Get-DatabaseAvailabilityGroup.json Get-DatabaseAvailabilityGroup
        Get-Mailbox.json                   Get-Mailbox -Database D -ResultSize N, per database
                                           (PrimarySmtpAddress, Database only)

    Each file is a JSON array, UTF-8 without BOM, of the cmdlet's objects with every value
    written as its display text: enums by name (`Enforce`, also when a remote session hands
    them over as numbers), AD object ids as paths, sizes as `35 MB (36,700,160 bytes)`,
    timespans as `2.00:00:00`. A cmdlet that fails is recorded as failed in manifest.json, its
    file holds `[]`, and the script exits with code 1 at the end: tlsflow refuses such an
    export rather than take the failure for an organisation without connectors or rules.
    manifest.json says `complete: true` only once the script has reached its end.

    Then, on any machine:

        tlsflow import exchange .\tlsflow-export --out topology.yaml

.PARAMETER OutputFolder
    Where to write the files (created if missing). Default .\tlsflow-export.

.PARAMETER MailboxSample
    At most how many mailboxes to export (addresses and databases only), spread over the
    mailbox databases: every database gets its share, at least one mailbox, so every server
    and DAG that holds mailboxes is represented (all mailboxes of a database are on the same
    server, so routing is the same for each). Default 2000; 0 for none; at most 100000.

.EXAMPLE
    .\Export-TlsflowInventory.ps1 -OutputFolder C:\Temp\tlsflow-export -MailboxSample 500

.NOTES
    Downloaded scripts are blocked by the RemoteSigned execution policy: run
    `Unblock-File .\Export-TlsflowInventory.ps1` once after reading it.
#>
[CmdletBinding()]
param(
    [string] $OutputFolder = '.\tlsflow-export',
    [ValidateRange(0, 100000)]
    [int] $MailboxSample = 2000
)

Set-StrictMode -Version 2.0
# 'Stop' reaches the script's own commands; the Exchange cmdlets of the Exchange Management
# Shell are implicit-remoting functions it does not reach, so each call also says
# -ErrorAction Stop, and Export-Cmdlet counts the errors recorded while a cmdlet ran.
$ErrorActionPreference = 'Stop'

if (-not (Get-Command Get-SendConnector -ErrorAction SilentlyContinue)) {
    throw 'Run this script in the Exchange Management Shell or a remote PowerShell session to Exchange (Get-SendConnector is not available).'
}

New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null
$folder = (Resolve-Path $OutputFolder).Path
$utf8 = New-Object System.Text.UTF8Encoding $false
$script:failures = 0

$shell = 'remote PowerShell session'
if (Get-Command Get-ExBanner -ErrorAction SilentlyContinue) {
    $shell = 'Exchange Management Shell'
}
$manifest = [ordered]@{
    tool          = 'Export-TlsflowInventory'
    schema        = 1
    complete      = $false
    startedUtc    = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    powershell    = $PSVersionTable.PSVersion.ToString()
    shell         = $shell
    mailboxSample = $MailboxSample
    cmdlets       = New-Object System.Collections.ArrayList
}

function Write-Utf8 {
    param([string] $Path, [string] $Text)
    # A temporary file renamed over the target: an interrupted run leaves no half-written file.
    $temp = "$Path.partial"
    [System.IO.File]::WriteAllText($temp, $Text, $utf8)
    if (Test-Path -LiteralPath $Path) {
        Remove-Item -LiteralPath $Path -Force
    }
    Move-Item -LiteralPath $temp -Destination $Path
}

function Write-Manifest {
    Write-Utf8 (Join-Path $folder 'manifest.json') (ConvertTo-Json -InputObject $manifest -Depth 4)
}

# One value as display text. A remote session deserializes an enum as its number with the
# type name `Deserialized.System.Enum` (and `-is [int]` is true for it): its ToString() is the
# name, which is what tlsflow reads and an administrator recognises.
function ConvertTo-PlainValue {
    param($Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [System.Enum] -or $Value.PSObject.TypeNames -contains 'Deserialized.System.Enum') {
        return $Value.ToString()
    }
    if ($Value -is [string] -or $Value -is [bool] -or $Value -is [int] -or $Value -is [long]) {
        return $Value
    }
    return $Value.ToString()
}

function ConvertTo-Plain {
    param([Parameter(ValueFromPipeline = $true)] $InputObject)
    process {
        if ($null -eq $InputObject) { return }
        $plain = [ordered]@{}
        foreach ($p in $InputObject.PSObject.Properties) {
            $v = $p.Value
            if ($null -ne $v -and $v -isnot [string] -and $v -is [System.Collections.IEnumerable]) {
                $plain[$p.Name] = @($v | ForEach-Object { ConvertTo-PlainValue $_ })
            } else {
                $plain[$p.Name] = ConvertTo-PlainValue $v
            }
        }
        [pscustomobject] $plain
    }
}

function Export-Cmdlet {
    param([string] $Name, [string] $Command, [scriptblock] $Run)
    $path = Join-Path $folder "$Name.json"
    $entry = [ordered]@{
        cmdlet  = $Name
        command = $Command
        file    = "$Name.json"
        status  = 'ok'
        count   = 0
        error   = $null
    }
    # The newest error before the cmdlet ran: a different newest one after it is the cmdlet's
    # (compared by reference, so $MaximumErrorCount dropping old errors does not hide it).
    $before = $null
    if ($Error.Count -gt 0) { $before = $Error[0] }
    try {
        $items = @(& $Run | ConvertTo-Plain)
        if ($Error.Count -gt 0 -and -not [object]::ReferenceEquals($Error[0], $before)) {
            throw $Error[0]
        }
        $json = '[]'
        if ($items.Count -gt 0) {
            $json = ConvertTo-Json -InputObject $items -Depth 4 -Compress
        }
        Write-Utf8 $path $json
        $entry.count = $items.Count
        Write-Host ('{0,-36} {1,7} objects' -f "$Name.json", $items.Count)
    } catch {
        $entry.status = 'failed'
        $entry.error = $_.Exception.Message
        $script:failures++
        Write-Utf8 $path '[]'
        Write-Warning "$Name failed: $($entry.error)"
    }
    [void] $manifest.cmdlets.Add($entry)
    Write-Manifest
}

Export-Cmdlet 'Get-ADSite' 'Get-ADSite' { Get-ADSite -ErrorAction Stop }
Export-Cmdlet 'Get-AdSiteLink' 'Get-AdSiteLink' { Get-AdSiteLink -ErrorAction Stop }
Export-Cmdlet 'Get-ExchangeServer' 'Get-ExchangeServer' { Get-ExchangeServer -ErrorAction Stop }
Export-Cmdlet 'Get-TransportService' 'Get-TransportService' { Get-TransportService -ErrorAction Stop }
Export-Cmdlet 'Get-FrontendTransportService' 'Get-FrontendTransportService' {
    Get-FrontendTransportService -ErrorAction Stop
}
Export-Cmdlet 'Get-SendConnector' 'Get-SendConnector' { Get-SendConnector -ErrorAction Stop }
Export-Cmdlet 'Get-ReceiveConnector' 'Get-ReceiveConnector' { Get-ReceiveConnector -ErrorAction Stop }
Export-Cmdlet 'Get-EdgeSubscription' 'Get-EdgeSubscription' { Get-EdgeSubscription -ErrorAction Stop }
# Get-TransportRule returns the first 1000 rules unless told otherwise.
Export-Cmdlet 'Get-TransportRule' 'Get-TransportRule -ResultSize Unlimited' {
    Get-TransportRule -ResultSize Unlimited -ErrorAction Stop
}
Export-Cmdlet 'Get-TransportConfig' 'Get-TransportConfig' { Get-TransportConfig -ErrorAction Stop }
Export-Cmdlet 'Get-AcceptedDomain' 'Get-AcceptedDomain' { Get-AcceptedDomain -ErrorAction Stop }

# Exchange 2010 databases are left out unless asked for; so are 2007's, which tlsflow cannot
# route to anyway.
$databaseParameters = @{ Status = $true; ErrorAction = 'Stop' }
$databaseCommand = 'Get-MailboxDatabase -Status'
if ((Get-Command Get-MailboxDatabase).Parameters.ContainsKey('IncludePreExchange2013')) {
    $databaseParameters['IncludePreExchange2013'] = $true
    $databaseCommand += ' -IncludePreExchange2013'
}
$script:databases = @()
Export-Cmdlet 'Get-MailboxDatabase' $databaseCommand {
    $script:databases = @(Get-MailboxDatabase @databaseParameters)
    $script:databases
}
Export-Cmdlet 'Get-DatabaseAvailabilityGroup' 'Get-DatabaseAvailabilityGroup' {
    Get-DatabaseAvailabilityGroup -ErrorAction Stop
}

if ($MailboxSample -gt 0 -and $script:databases.Count -gt 0) {
    $perDatabase = [int][Math]::Max(1, [Math]::Floor($MailboxSample / $script:databases.Count))
    Export-Cmdlet 'Get-Mailbox' "Get-Mailbox -Database D -ResultSize $perDatabase, for each of $($script:databases.Count) databases, at most $MailboxSample in all" {
        $left = $MailboxSample
        foreach ($database in $script:databases) {
            if ($left -le 0) { break }
            $size = [int][Math]::Min($perDatabase, $left)
            $sample = @(Get-Mailbox -Database $database.Identity -ResultSize $size -ErrorAction Stop |
                    Select-Object PrimarySmtpAddress, Database)
            $left -= $sample.Count
            $sample
        }
    }
} else {
    Write-Utf8 (Join-Path $folder 'Get-Mailbox.json') '[]'
    [void] $manifest.cmdlets.Add([ordered]@{
            cmdlet  = 'Get-Mailbox'
            command = 'not run (-MailboxSample 0, or no mailbox database)'
            file    = 'Get-Mailbox.json'
            status  = 'skipped'
            count   = 0
            error   = $null
        })
}

$manifest.complete = $true
Write-Manifest

Write-Host ''
if ($script:failures -gt 0) {
    Write-Warning "$($script:failures) cmdlets failed (see manifest.json); tlsflow will refuse this export until they succeed."
    exit 1
}
Write-Host "Done. No message content was exported. Next: tlsflow import exchange `"$folder`" --out topology.yaml"
