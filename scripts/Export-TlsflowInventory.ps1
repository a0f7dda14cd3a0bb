<#
.SYNOPSIS
    Exports the Exchange configuration tlsflow needs, one JSON file per cmdlet. READ-ONLY.

.DESCRIPTION
    THIS SCRIPT EXPORTS NO MESSAGE CONTENT. It runs only Get-* cmdlets and changes nothing. It
    reads configuration (AD sites and site links, Exchange servers, transport services, Send and
    Receive connectors, Edge subscriptions, transport rules, transport configuration, accepted
    domains, mailbox databases, DAGs) and, for a sample of mailboxes, only their primary SMTP
    address and database. No message, subject, body, attachment or tracking log is read.

    Run it in the Exchange Management Shell (Exchange 2013, 2016, 2019 or Subscription
    Edition) as a user with View-Only Organization Management. It writes into -OutputFolder:

        Get-ADSite.json                    Get-ADSite
        Get-AdSiteLink.json                Get-AdSiteLink
        Get-ExchangeServer.json            Get-ExchangeServer
        Get-TransportService.json          Get-TransportService
        Get-FrontendTransportService.json  Get-FrontendTransportService
        Get-SendConnector.json             Get-SendConnector
        Get-ReceiveConnector.json          Get-ReceiveConnector
        Get-EdgeSubscription.json          Get-EdgeSubscription
        Get-TransportRule.json             Get-TransportRule
        Get-TransportConfig.json           Get-TransportConfig
        Get-AcceptedDomain.json            Get-AcceptedDomain
        Get-MailboxDatabase.json           Get-MailboxDatabase -Status
        Get-DatabaseAvailabilityGroup.json Get-DatabaseAvailabilityGroup
        Get-Mailbox.json                   Get-Mailbox -ResultSize N | PrimarySmtpAddress, Database

    Each file is ConvertTo-Json -Depth 5 of the cmdlet's output, UTF-8 without BOM; a cmdlet
    that returns nothing writes `[]`. Enum values are written by name. Then, on any machine:

        tlsflow import exchange .\tlsflow-export --out topology.yaml

.PARAMETER OutputFolder
    Where to write the files (created if missing). Default .\tlsflow-export.

.PARAMETER MailboxSample
    How many mailboxes to sample (addresses and databases only). Default 200; 0 for none.

.EXAMPLE
    .\Export-TlsflowInventory.ps1 -OutputFolder C:\Temp\tlsflow-export -MailboxSample 100
#>
[CmdletBinding()]
param(
    [string] $OutputFolder = '.\tlsflow-export',
    [ValidateRange(0, 100000)]
    [int] $MailboxSample = 200
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

if (-not (Get-Command Get-SendConnector -ErrorAction SilentlyContinue)) {
    throw 'Run this script in the Exchange Management Shell (Get-SendConnector is not available).'
}

New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null
$folder = (Resolve-Path $OutputFolder).Path
$utf8 = New-Object System.Text.UTF8Encoding $false

# Enums, AD object ids, sizes and timespans are written as their display text
# (`Enforce`, `contoso.com/Configuration/Sites/HQ`, `35 MB (36,700,160 bytes)`, `2.00:00:00`):
# that is what tlsflow reads, and what an administrator recognises.
function ConvertTo-Plain {
    param([Parameter(ValueFromPipeline = $true)] $InputObject)
    process {
        if ($null -eq $InputObject) { return }
        $plain = [ordered]@{}
        foreach ($p in $InputObject.PSObject.Properties) {
            $v = $p.Value
            if ($null -eq $v -or $v -is [string] -or $v -is [bool] -or $v -is [int] -or $v -is [long]) {
                $plain[$p.Name] = $v
            } elseif ($v -is [System.Collections.IEnumerable]) {
                $plain[$p.Name] = @($v | ForEach-Object { if ($null -eq $_) { $null } else { $_.ToString() } })
            } else {
                $plain[$p.Name] = $v.ToString()
            }
        }
        [pscustomobject] $plain
    }
}

function Export-Cmdlet {
    param([string] $Name, [scriptblock] $Command)
    $path = Join-Path $folder "$Name.json"
    try {
        $items = @(& $Command | ConvertTo-Plain)
        $json = if ($items.Count -eq 0) { '[]' } else { ConvertTo-Json -InputObject $items -Depth 5 }
        [System.IO.File]::WriteAllText($path, $json, $utf8)
        Write-Host ("{0,-36} {1,6} objects" -f "$Name.json", $items.Count)
    } catch {
        Write-Warning "$Name failed: $($_.Exception.Message). Writing []; tlsflow will note what is missing."
        [System.IO.File]::WriteAllText($path, '[]', $utf8)
    }
}

Export-Cmdlet 'Get-ADSite'                    { Get-ADSite }
Export-Cmdlet 'Get-AdSiteLink'                { Get-AdSiteLink }
Export-Cmdlet 'Get-ExchangeServer'            { Get-ExchangeServer }
Export-Cmdlet 'Get-TransportService'          { Get-TransportService }
Export-Cmdlet 'Get-FrontendTransportService'  { Get-FrontendTransportService }
Export-Cmdlet 'Get-SendConnector'             { Get-SendConnector }
Export-Cmdlet 'Get-ReceiveConnector'          { Get-ReceiveConnector }
Export-Cmdlet 'Get-EdgeSubscription'          { Get-EdgeSubscription }
Export-Cmdlet 'Get-TransportRule'             { Get-TransportRule }
Export-Cmdlet 'Get-TransportConfig'           { Get-TransportConfig }
Export-Cmdlet 'Get-AcceptedDomain'            { Get-AcceptedDomain }
Export-Cmdlet 'Get-MailboxDatabase'           { Get-MailboxDatabase -Status }
Export-Cmdlet 'Get-DatabaseAvailabilityGroup' { Get-DatabaseAvailabilityGroup }
if ($MailboxSample -gt 0) {
    Export-Cmdlet 'Get-Mailbox' {
        Get-Mailbox -ResultSize $MailboxSample | Select-Object PrimarySmtpAddress, Database
    }
} else {
    [System.IO.File]::WriteAllText((Join-Path $folder 'Get-Mailbox.json'), '[]', $utf8)
}

Write-Host ''
Write-Host "Done. No message content was exported. Next: tlsflow import exchange `"$folder`" --out topology.yaml"
