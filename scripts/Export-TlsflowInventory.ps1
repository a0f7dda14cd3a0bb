<#
.SYNOPSIS
    Exports the Exchange configuration tlsflow needs, one JSON file per cmdlet; with -CollectLogs
    also copies the transport logs. READ-ONLY.

.DESCRIPTION
    WITHOUT -CollectLogs, THIS SCRIPT EXPORTS NO MESSAGE CONTENT. It runs only Get-* cmdlets and
    changes nothing. It reads configuration (AD sites and site links, Exchange servers, transport
    services, Send and Receive connectors, Edge subscriptions, transport rules, transport
    configuration, accepted domains, mailbox databases, DAGs) and, for a sample of mailboxes, only
    their primary SMTP address and database. Without -CollectLogs no message, subject, body,
    attachment, tracking log or protocol log is read.

    With -CollectLogs it also copies log files, read-only (it deletes, moves and changes nothing on
    the servers), from every server that Get-TransportService or Get-FrontendTransportService
    lists, through the administrative share (\\SERVER\C$\...; local Administrator rights on each
    server): the message tracking logs (MSGTRK, MSGTRKMS, MSGTRKMD) and the SMTP Send protocol logs
    of the Transport service and of the Front End Transport service, each file that overlaps the
    window -LogStart to -LogEnd, whole. THESE LOG FILES HOLD SENDER AND RECIPIENT ADDRESSES, MESSAGE
    SUBJECTS AND THE NAMES AND IP ADDRESSES OF THE HOSTS TALKED TO: keep the logs folder as you
    would the mailboxes, and read it with `tlsflow logs --redact`, which hashes the addresses and
    leaves the subjects out of what it writes. Edge Transport servers are not reached (they are
    not in the organisation's Active Directory, so these cmdlets do not list them): copy their
    logs on the Edge server. A server whose logs cannot be read is recorded as failed in
    manifest.json, the others are still copied, and the script exits with code 1 at the end.

    Protocol logs are written only for a Send connector whose ProtocolLoggingLevel is Verbose, and
    for the intra-organization Send connector of a Transport service whose
    IntraOrgConnectorProtocolLoggingLevel is Verbose; both are None by default. Without them tlsflow
    cannot tell a hop sent with TLS from one sent in clear text: the script warns for each and lists
    them in manifest.json (logs.notVerbose), and leaves them as they are (Set-SendConnector
    -ProtocolLoggingLevel Verbose and Set-TransportService -IntraOrgConnectorProtocolLoggingLevel
    Verbose are for you to decide; only what is sent after that is logged).

    Shells: the Exchange Management Shell of Exchange 2013, 2016, 2019 or Subscription Edition,
    or a remote PowerShell session to an Exchange server (Import-PSSession); Windows PowerShell
    5.1 or PowerShell 7. Rights: View-Only Organization Management; with -CollectLogs also read
    access to each server's administrative share. It writes into -OutputFolder:

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
        logs\SERVER\MessageTracking\       with -CollectLogs: MSGTRK*.LOG of the Transport service
        logs\SERVER\SmtpSend\              with -CollectLogs: SEND*.LOG of the Transport service
        logs\SERVER\FrontEnd-SmtpSend\     with -CollectLogs: SEND*.LOG of the Front End Transport
                                           service (Send connectors that proxy through it)

    Each file is a JSON array, UTF-8 without BOM, of the cmdlet's objects with every value
    written as its display text: enums by name (`Enforce`, also when a remote session hands
    them over as numbers), AD object ids as paths, sizes as `35 MB (36,700,160 bytes)`,
    timespans as `2.00:00:00`. A cmdlet that fails is recorded as failed in manifest.json, its
    file holds `[]`, and the script exits with code 1 at the end: tlsflow refuses such an
    export rather than take the failure for an organisation without connectors or rules.
    manifest.json says `complete: true` only once the script has reached its end. With
    -CollectLogs it also has `logs`: the window (start, end, in UTC), the connectors whose protocol
    logging is not Verbose (notVerbose), and per server the files and bytes copied, the folders
    that do not exist (missing), its status (ok or failed) and its error.

    Then, on any machine:

        tlsflow import exchange .\tlsflow-export --out topology.yaml
        tlsflow logs .\tlsflow-export\logs --topology topology.yaml      (with -CollectLogs)

.PARAMETER OutputFolder
    Where to write the files (created if missing). Default .\tlsflow-export.

.PARAMETER MailboxSample
    At most how many mailboxes to export (addresses and databases only), spread over the
    mailbox databases: every database gets its share, at least one mailbox, so every server
    and DAG that holds mailboxes is represented (all mailboxes of a database are on the same
    server, so routing is the same for each). Default 2000; 0 for none; at most 100000.

.PARAMETER CollectLogs
    Also copy the message tracking and SMTP Send protocol log files of each server into
    <OutputFolder>\logs\<SERVER>\ (MessageTracking, SmtpSend, FrontEnd-SmtpSend), read through the
    administrative share \\SERVER\X$\ of the folder the server is configured with
    (MessageTrackingLogPath, SendProtocolLogPath). The files hold addresses and subjects. Edge
    Transport servers are not reached. Off by default: without it nothing of the sort is read.

.PARAMETER LogStart
    With -CollectLogs: the start of the window. A log file last written at or after LogStart and
    begun at or before LogEnd is copied whole. A time without an offset is local time. Default: 24
    hours before LogEnd.

.PARAMETER LogEnd
    With -CollectLogs: the end of the window, after LogStart. Default: now.

.EXAMPLE
    .\Export-TlsflowInventory.ps1 -OutputFolder C:\Temp\tlsflow-export -MailboxSample 500

.EXAMPLE
    .\Export-TlsflowInventory.ps1 -OutputFolder C:\Temp\tlsflow-export -CollectLogs -LogStart (Get-Date).AddDays(-7)
    tlsflow logs C:\Temp\tlsflow-export\logs --topology topology.yaml

    The configuration and the logs of the last seven days; then, on any machine, the logs read
    against the imported topology.

.NOTES
    Downloaded scripts are blocked by the RemoteSigned execution policy: run
    `Unblock-File .\Export-TlsflowInventory.ps1` once after reading it.
#>
[CmdletBinding()]
param(
    [string] $OutputFolder = '.\tlsflow-export',
    [ValidateRange(0, 100000)]
    [int] $MailboxSample = 2000,
    [switch] $CollectLogs,
    [datetime] $LogStart,
    [datetime] $LogEnd
)

Set-StrictMode -Version 2.0
# 'Stop' reaches the script's own commands; the Exchange cmdlets of the Exchange Management
# Shell are implicit-remoting functions it does not reach, so each call also says
# -ErrorAction Stop, and Export-Cmdlet counts the errors recorded while a cmdlet ran.
$ErrorActionPreference = 'Stop'

# The window of -CollectLogs, in UTC, checked before anything is read. A [datetime] without an
# offset (`2026-05-01`, `(Get-Date).AddDays(-7)`) is local time, as ToUniversalTime() takes it.
$logEndUtc = (Get-Date).ToUniversalTime()
if ($PSBoundParameters.ContainsKey('LogEnd')) {
    $logEndUtc = $LogEnd.ToUniversalTime()
}
$logStartUtc = $logEndUtc.AddHours(-24)
if ($PSBoundParameters.ContainsKey('LogStart')) {
    $logStartUtc = $LogStart.ToUniversalTime()
}
$iso = 'yyyy-MM-ddTHH:mm:ssZ'
$invariant = [System.Globalization.CultureInfo]::InvariantCulture
if (-not $CollectLogs) {
    if ($PSBoundParameters.ContainsKey('LogStart') -or $PSBoundParameters.ContainsKey('LogEnd')) {
        throw '-LogStart and -LogEnd set the window of -CollectLogs: add -CollectLogs, or leave them out.'
    }
} elseif ($logStartUtc -ge $logEndUtc) {
    throw ('-LogStart must be before -LogEnd: the window {0} to {1} (UTC) holds no time, so no log would be copied.' -f
        $logStartUtc.ToString($iso, $invariant), $logEndUtc.ToString($iso, $invariant))
}

if (-not (Get-Command Get-SendConnector -ErrorAction SilentlyContinue)) {
    throw 'Run this script in the Exchange Management Shell or a remote PowerShell session to Exchange (Get-SendConnector is not available).'
}

New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null
$folder = (Resolve-Path $OutputFolder).Path
$utf8 = New-Object System.Text.UTF8Encoding $false
$script:failures = 0
$script:logFailures = 0

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
    Write-Utf8 (Join-Path $folder 'manifest.json') (ConvertTo-Json -InputObject $manifest -Depth 5)
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

# Log collection (-CollectLogs). The folders are the services' own settings: Get-TransportService
# has MessageTrackingLogPath, SendProtocolLogPath, ReceiveProtocolLogPath and
# IntraOrgConnectorProtocolLoggingLevel; Get-FrontendTransportService has SendProtocolLogPath; a
# Send connector has ProtocolLoggingLevel (None or Verbose), and protocol logs are written only at
# Verbose. Message tracking files are MSGTRK (Transport), MSGTRKMS (Mailbox Transport Submission),
# MSGTRKMD (Mailbox Transport Delivery) and MSGTRKMA (moderation, not taken), then yyyyMMdd-N.LOG;
# Send protocol logs are SENDyyyyMMdd-N.LOG.
#   https://learn.microsoft.com/en-us/exchange/mail-flow/connectors/protocol-logging
#   https://learn.microsoft.com/en-us/exchange/mail-flow/transport-logs/configure-message-tracking

# A log file overlaps the window when it was last written at or after its start and began at or
# before its end; it is then copied whole. It began at its creation time, or at the date in its
# name if that is earlier (a restored or copied file has a new creation time): rather one file too
# many than one too few.
function Test-LogInWindow {
    param([System.IO.FileInfo] $File)
    if ($File.LastWriteTimeUtc -lt $logStartUtc) { return $false }
    $began = $File.CreationTimeUtc
    if ($File.Name -match '(\d{8})-\d+\.LOG$') {
        $named = [datetime]::MinValue
        $styles = [System.Globalization.DateTimeStyles] 'AssumeUniversal, AdjustToUniversal'
        if ([datetime]::TryParseExact($Matches[1], 'yyyyMMdd', $invariant, $styles, [ref] $named) -and
            $named -lt $began) {
            $began = $named
        }
    }
    return ($began -le $logEndUtc)
}

# Copies the log files of one folder of a server that overlap the window into
# <OutputFolder>\logs\<Server>\<Kind>\, and returns how many and their bytes. READ-ONLY at the
# source: the folder (a local path on the server, `D:\Logs\SmtpSend`) is read through the
# administrative share (`\\HOST\D$\Logs\SmtpSend`), Get-ChildItem lists it and Copy-Item reads
# from it; nothing there is deleted, moved or changed. A share that cannot be opened throws (the
# server is recorded as failed); a folder that does not exist (no log written yet) is `missing`.
function Copy-LogFolder {
    param([string] $Server, [string] $HostName, [string] $LocalPath, [string] $Kind,
        [string] $Filter, [string] $Pattern)
    $result = @{ files = 0; bytes = [long] 0; missing = $null }
    if (-not ($LocalPath -match '^([A-Za-z]):(\\.*)?$')) {
        throw "$Kind folder `"$LocalPath`" is not a local path with a drive letter"
    }
    $root = '\\{0}\{1}$' -f $HostName, $Matches[1].ToUpperInvariant()
    $source = $root
    if ($Matches[2]) { $source = $root + $Matches[2].TrimEnd('\') }
    if (-not (Test-Path -LiteralPath $root)) {
        throw "cannot open $root (the administrative share of $LocalPath): is $HostName reachable, and are you a local Administrator there?"
    }
    if (-not (Test-Path -LiteralPath $source -PathType Container)) {
        $result.missing = "$Kind ($source)"
        return $result
    }
    $destination = Join-Path (Join-Path $logsFolder $Server) $Kind
    $files = @(Get-ChildItem -LiteralPath $source -Filter $Filter -File -ErrorAction Stop |
            Where-Object { $_.Name -match $Pattern -and (Test-LogInWindow $_) })
    if ($files.Count -gt 0) {
        New-Item -ItemType Directory -Force -Path $destination | Out-Null
    }
    foreach ($file in $files) {
        $target = Join-Path $destination $file.Name
        try {
            Copy-Item -LiteralPath $file.FullName -Destination $target -ErrorAction Stop
        } catch [System.IO.IOException] {
            # The file the service is writing now may refuse Copy-Item: it is read through a stream
            # that asks only to read (FileAccess Read) and lets the service go on writing
            # (FileShare ReadWrite, Delete); an unreachable file fails here again, and throws.
            $reader = New-Object System.IO.FileStream -ArgumentList $file.FullName, ([System.IO.FileMode]::Open),
                ([System.IO.FileAccess]::Read), ([System.IO.FileShare] 'ReadWrite, Delete')
            try {
                $writer = New-Object System.IO.FileStream -ArgumentList $target, ([System.IO.FileMode]::Create),
                    ([System.IO.FileAccess]::Write), ([System.IO.FileShare]::None)
                try { $reader.CopyTo($writer) } finally { $writer.Dispose() }
            } finally {
                $reader.Dispose()
            }
        }
        $result.files++
        $result.bytes += (Get-Item -LiteralPath $target).Length
    }
    return $result
}

Export-Cmdlet 'Get-ADSite' 'Get-ADSite' { Get-ADSite -ErrorAction Stop }
Export-Cmdlet 'Get-AdSiteLink' 'Get-AdSiteLink' { Get-AdSiteLink -ErrorAction Stop }
# The servers, services and Send connectors are kept for -CollectLogs.
$script:exchangeServers = @()
$script:transportServices = @()
$script:frontendServices = @()
$script:sendConnectors = @()
Export-Cmdlet 'Get-ExchangeServer' 'Get-ExchangeServer' {
    $script:exchangeServers = @(Get-ExchangeServer -ErrorAction Stop)
    $script:exchangeServers
}
Export-Cmdlet 'Get-TransportService' 'Get-TransportService' {
    $script:transportServices = @(Get-TransportService -ErrorAction Stop)
    $script:transportServices
}
Export-Cmdlet 'Get-FrontendTransportService' 'Get-FrontendTransportService' {
    $script:frontendServices = @(Get-FrontendTransportService -ErrorAction Stop)
    $script:frontendServices
}
Export-Cmdlet 'Get-SendConnector' 'Get-SendConnector' {
    $script:sendConnectors = @(Get-SendConnector -ErrorAction Stop)
    $script:sendConnectors
}
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

if ($CollectLogs) {
    $logsFolder = Join-Path $folder 'logs'
    New-Item -ItemType Directory -Force -Path $logsFolder | Out-Null
    $logs = [ordered]@{
        start      = $logStartUtc.ToString($iso, $invariant)
        end        = $logEndUtc.ToString($iso, $invariant)
        notVerbose = New-Object System.Collections.ArrayList
        servers    = New-Object System.Collections.ArrayList
    }
    $manifest['logs'] = $logs
    Write-Host ''
    Write-Host "Copying the log files that overlap $($logs.start) to $($logs.end) (UTC) into $logsFolder"

    # Without protocol logs tlsflow cannot tell TLS from clear text: every enabled Send connector
    # and every intra-organization Send connector that does not log is said (and left as it is).
    foreach ($connector in $script:sendConnectors) {
        if ($connector.Enabled -eq $false) { continue }
        $level = ConvertTo-PlainValue $connector.ProtocolLoggingLevel
        if ($level -ne 'Verbose') {
            $name = "Send connector $($connector.Name)"
            [void] $logs.notVerbose.Add($name)
            Write-Warning ('{0}: ProtocolLoggingLevel is {1}, not Verbose: it writes no protocol log, and tlsflow cannot tell whether it sent with TLS.' -f $name, $level)
        }
    }
    foreach ($service in $script:transportServices) {
        $level = ConvertTo-PlainValue $service.IntraOrgConnectorProtocolLoggingLevel
        if ($level -ne 'Verbose') {
            $name = "intra-organization Send connector of $($service.Name)"
            [void] $logs.notVerbose.Add($name)
            Write-Warning ('{0}: IntraOrgConnectorProtocolLoggingLevel is {1}, not Verbose: hops between Exchange servers write no protocol log.' -f $name, $level)
        }
    }

    # Each server with a Transport or a Front End Transport service, by the name Exchange knows it
    # by; its share is reached by its FQDN where Get-ExchangeServer gave one.
    $transportOf = @{}
    foreach ($service in $script:transportServices) { $transportOf["$($service.Name)"] = $service }
    $frontendOf = @{}
    foreach ($service in $script:frontendServices) { $frontendOf["$($service.Name)"] = $service }
    $fqdnOf = @{}
    foreach ($server in $script:exchangeServers) {
        if ("$($server.Fqdn)") { $fqdnOf["$($server.Name)"] = "$($server.Fqdn)" }
    }
    $serverNames = @(@($transportOf.Keys) + @($frontendOf.Keys) | Sort-Object -Unique)
    if ($serverNames.Count -eq 0) {
        Write-Warning 'No Transport or Front End Transport service was listed: no log was copied.'
    }
    $trackingPattern = '^MSGTRK(MS|MD)?\d{8}-\d+\.LOG$'
    $sendPattern = '^SEND\d{8}-\d+\.LOG$'
    foreach ($serverName in $serverNames) {
        $entry = [ordered]@{
            server                = $serverName
            trackingFiles         = 0
            smtpSendFiles         = 0
            frontendSmtpSendFiles = 0
            bytes                 = [long] 0
            missing               = New-Object System.Collections.ArrayList
            status                = 'ok'
            error                 = $null
        }
        $hostName = $serverName
        if ($fqdnOf.ContainsKey($serverName)) { $hostName = $fqdnOf[$serverName] }
        # One hashtable per folder (the key is Field, not Count, which a hashtable has already).
        $sources = New-Object System.Collections.ArrayList
        if ($transportOf.ContainsKey($serverName)) {
            $service = $transportOf[$serverName]
            [void] $sources.Add(@{ Kind = 'MessageTracking'; Path = "$($service.MessageTrackingLogPath)"
                    Filter = 'MSGTRK*.LOG'; Pattern = $trackingPattern; Field = 'trackingFiles' })
            [void] $sources.Add(@{ Kind = 'SmtpSend'; Path = "$($service.SendProtocolLogPath)"
                    Filter = 'SEND*.LOG'; Pattern = $sendPattern; Field = 'smtpSendFiles' })
        }
        if ($frontendOf.ContainsKey($serverName)) {
            $service = $frontendOf[$serverName]
            [void] $sources.Add(@{ Kind = 'FrontEnd-SmtpSend'; Path = "$($service.SendProtocolLogPath)"
                    Filter = 'SEND*.LOG'; Pattern = $sendPattern; Field = 'frontendSmtpSendFiles' })
        }
        $problems = New-Object System.Collections.ArrayList
        foreach ($logSource in $sources) {
            if (-not $logSource.Path) {
                [void] $entry.missing.Add("$($logSource.Kind) (no folder set)")
                continue
            }
            try {
                $copied = Copy-LogFolder -Server $serverName -HostName $hostName -LocalPath $logSource.Path `
                    -Kind $logSource.Kind -Filter $logSource.Filter -Pattern $logSource.Pattern
                $entry[$logSource.Field] = $copied.files
                $entry.bytes += $copied.bytes
                if ($copied.missing) { [void] $entry.missing.Add($copied.missing) }
            } catch {
                [void] $problems.Add("$($logSource.Kind): $($_.Exception.Message)")
            }
        }
        if ($problems.Count -gt 0) {
            $entry.status = 'failed'
            $entry.error = $problems -join '; '
            $script:logFailures++
            Write-Warning "logs of $($serverName) failed: $($entry.error)"
        }
        Write-Host ('{0,-36} {1,5} tracking, {2,5} SmtpSend, {3,5} Front End SmtpSend files' -f
            "logs\$serverName", $entry.trackingFiles, $entry.smtpSendFiles, $entry.frontendSmtpSendFiles)
        [void] $logs.servers.Add($entry)
        Write-Manifest
    }
}

$manifest.complete = $true
Write-Manifest

Write-Host ''
$failed = $false
if ($script:failures -gt 0) {
    Write-Warning "$($script:failures) cmdlets failed (see manifest.json); tlsflow will refuse this export until they succeed."
    $failed = $true
}
if ($script:logFailures -gt 0) {
    Write-Warning "the logs of $($script:logFailures) servers could not be copied (see logs in manifest.json); the others were."
    $failed = $true
}
if ($failed) {
    exit 1
}
if ($CollectLogs) {
    Write-Host "Done. The log files in `"$logsFolder`" hold addresses and subjects: keep them confidential. Next: tlsflow import exchange `"$folder`" --out topology.yaml, then tlsflow logs `"$logsFolder`" --topology topology.yaml (--redact hashes addresses and leaves subjects out)"
} else {
    Write-Host "Done. No message content was exported. Next: tlsflow import exchange `"$folder`" --out topology.yaml"
}
