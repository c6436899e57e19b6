<#
.SYNOPSIS
    Gỡ ioc-agent / Removes ioc-agent.

.DESCRIPTION
    Stops and removes the "ioc-agent" service and the Python environment install.ps1 made.
    The data directory (configuration, enrollment, reports not yet sent, logs) is kept unless
    -RemoveData is given: kept, a re-install reports again without a new enrollment code.
    Run it in an elevated PowerShell ("Run as administrator").

.PARAMETER InstallDir
    Where install.ps1 put the Python environment. Default: %ProgramFiles%\ioc-agent.
.PARAMETER DataDir
    Configuration, enrollment state, spool and logs. Default: %ProgramData%\ioc-agent.
.PARAMETER RemoveData
    Also delete the data directory: the PC must then be enrolled again with a new code.

.EXAMPLE
    .\uninstall.ps1
.EXAMPLE
    .\uninstall.ps1 -RemoveData
#>
[CmdletBinding()]
param(
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'ioc-agent'),
    [string] $DataDir = (Join-Path $env:ProgramData 'ioc-agent'),
    [switch] $RemoveData
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'ioc-agent'

function Say([string] $Vi, [string] $En) {
    Write-Host "ioc-agent: $Vi / $En"
}

$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal($identity)
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'ioc-agent: hãy chạy PowerShell với quyền quản trị / run PowerShell as administrator'
}

$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($null -ne $service) {
    if ($service.Status -ne 'Stopped') {
        Say 'dừng dịch vụ' 'stopping the service'
        Stop-Service -Name $ServiceName -Force
        $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
    }
    & sc.exe delete $ServiceName | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw "ioc-agent: không xoá được dịch vụ (mã $LASTEXITCODE) / cannot delete the service (exit code $LASTEXITCODE)"
    }
    Say 'đã xoá dịch vụ' 'service removed'
} else {
    Say 'không có dịch vụ ioc-agent' 'no ioc-agent service'
}

if (Test-Path $InstallDir) {
    Remove-Item -Recurse -Force -Path $InstallDir
    Say "đã xoá $InstallDir" "removed $InstallDir"
}

if ($RemoveData) {
    if (Test-Path $DataDir) {
        Remove-Item -Recurse -Force -Path $DataDir
        Say "đã xoá dữ liệu $DataDir (cần mã đăng ký mới để cài lại)" `
            "removed the data in $DataDir (a new enrollment code is needed to re-install)"
    }
} else {
    Say "giữ dữ liệu tại $DataDir (-RemoveData để xoá)" "data kept in $DataDir (-RemoveData deletes it)"
}
