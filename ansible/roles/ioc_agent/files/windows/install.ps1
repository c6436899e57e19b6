<#
.SYNOPSIS
    Cài đặt ioc-agent từ gói ngoại tuyến / Installs ioc-agent from the offline bundle.

.DESCRIPTION
    Installs the commune-ioc agent on a Windows 10/11 commune PC with no internet: from the
    wheels of this bundle only (pip --no-index), with an existing Python 3.11+ (-Python) or
    the embeddable distribution the province supplies (-EmbeddedPython). Then writes the
    configuration, enrolls once with the one-time code, sets the ACL of the data directory
    (SYSTEM and Administrators only, not inherited), registers the "ioc-agent" service
    (automatic, delayed start; restart after 60 s on failure, three times) and starts it.

    Safe to run again: an upgrade stops the service, installs the bundle's version in place
    and starts it again; an enrolled PC is never enrolled twice.
    Run it in an elevated PowerShell ("Run as administrator").

.PARAMETER Bundle
    Folder of the unpacked bundle (the wheels, install.ps1). Default: this script's folder.
.PARAMETER Python
    python.exe of an installed Python 3.11 or newer (e.g. C:\Program Files\Python311\python.exe).
.PARAMETER EmbeddedPython
    The Windows embeddable package of Python 3.11+ (python-3.11.x-embed-amd64.zip) the province
    supplies, used when no Python is installed.
.PARAMETER CollectorUrl
    The province's collector, e.g. https://ioc.tinh.gov.vn:8443. Needed for the first install
    unless -ConfigFile names one.
.PARAMETER EnrollmentCode
    One-time code from `ioc-collector enrollment-code --commune CODE`; needed only for a PC
    that is not enrolled yet. Never written to a file or a log.
.PARAMETER CaFile
    The province's CA certificate (PEM); when given it is the ONLY CA trusted. Without it the
    Windows certificate store is used (a CA pushed by Group Policy is trusted).
.PARAMETER CertSha256
    SHA-256 fingerprint of the collector's certificate, required besides the CA check.
.PARAMETER ConfigFile
    An agent.yaml to install as is (see docs/agent.example.yaml); replaces the written one.
.PARAMETER InstallDir
    Where the Python environment goes. Default: %ProgramFiles%\ioc-agent.
.PARAMETER DataDir
    Configuration, enrollment state, spool and logs. Default: %ProgramData%\ioc-agent.
.PARAMETER NoStart
    Register the service but do not start it.

.EXAMPLE
    .\install.ps1 -Python 'C:\Program Files\Python311\python.exe' `
        -CollectorUrl https://ioc.tinh.gov.vn:8443 -EnrollmentCode ABCD-EFGH-JKLM
.EXAMPLE
    .\install.ps1 -EmbeddedPython D:\python-3.11.9-embed-amd64.zip `
        -CollectorUrl https://ioc.tinh.gov.vn:8443 -CaFile D:\ca.pem -EnrollmentCode ABCD-EFGH-JKLM
#>
[CmdletBinding(DefaultParameterSetName = 'Installed')]
param(
    [string] $Bundle = $PSScriptRoot,
    [Parameter(ParameterSetName = 'Installed')]
    [string] $Python = '',
    [Parameter(ParameterSetName = 'Embedded', Mandatory = $true)]
    [string] $EmbeddedPython,
    [string] $CollectorUrl = '',
    [string] $EnrollmentCode = '',
    [string] $CaFile = '',
    [string] $CertSha256 = '',
    [string] $ConfigFile = '',
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'ioc-agent'),
    [string] $DataDir = (Join-Path $env:ProgramData 'ioc-agent'),
    [switch] $NoStart
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'ioc-agent'
$Project = 'commune-ioc'
# Well-known SIDs: the group names are localized (a Vietnamese Windows does not say
# "Administrators"). S-1-5-18 = LocalSystem, S-1-5-32-544 = BUILTIN\Administrators.
$SidSystem = '*S-1-5-18'
$SidAdmins = '*S-1-5-32-544'

function Say([string] $Vi, [string] $En) {
    Write-Host "ioc-agent: $Vi / $En"
}

function Fail([string] $Vi, [string] $En) {
    throw "ioc-agent: $Vi / $En"
}

function Test-Native([string] $Exe, [string[]] $Arguments) {
    # Windows PowerShell 5.1 turns a native command's stderr into errors that 'Stop' would
    # make fatal: here a non-zero exit is an answer, not a failure.
    $ErrorActionPreference = 'Continue'
    & $Exe @Arguments 2>&1 | Out-Null
    return $LASTEXITCODE -eq 0
}

function Invoke-Checked([string] $Exe, [string[]] $Arguments, [string] $What) {
    # To the console, not to the pipeline: a function's stray output would be returned.
    & $Exe @Arguments | Out-Host
    if ($LASTEXITCODE -ne 0) {
        Fail "lỗi khi $What (mã $LASTEXITCODE)" "failed to $What (exit code $LASTEXITCODE)"
    }
}

function Assert-Administrator {
    $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object Security.Principal.WindowsPrincipal($identity)
    if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
        Fail 'hãy chạy PowerShell với quyền quản trị (Run as administrator)' `
            'run PowerShell as administrator'
    }
}

function Assert-Python([string] $Exe) {
    # No double quotes in the argument: Windows PowerShell 5.1 strips them on the way to a
    # native program.
    $version = & $Exe -c 'import sys; print(*sys.version_info[:2], sep=chr(46))'
    if ($LASTEXITCODE -ne 0 -or -not $version) {
        Fail "không chạy được Python: $Exe" "cannot run Python: $Exe"
    }
    if ([version] $version -lt [version] '3.11') {
        Fail "cần Python 3.11 trở lên, có $version ($Exe)" "Python 3.11 or newer needed, found $version ($Exe)"
    }
}

function Install-FromInstalledPython([string] $Exe) {
    Assert-Python $Exe
    $venv = Join-Path $InstallDir 'venv'
    $py = Join-Path $venv 'Scripts\python.exe'
    if (-not (Test-Path $py)) {
        Say "tạo môi trường Python tại $venv" "creating the Python environment in $venv"
        Invoke-Checked $Exe @('-m', 'venv', $venv) 'create the virtual environment'
    }
    return $py
}

function Install-EmbeddedPython([string] $Zip) {
    # The embeddable package has no pip and ignores site-packages until its ._pth file
    # imports site: unpack it, turn site on, and run pip from the bundle's pip wheel.
    $pyHome = Join-Path $InstallDir 'python'
    $py = Join-Path $pyHome 'python.exe'
    if (-not (Test-Path $py)) {
        Say "giải nén Python nhúng vào $pyHome" "unpacking the embeddable Python into $pyHome"
        Expand-Archive -Path $Zip -DestinationPath $pyHome -Force
    }
    $pth = Get-ChildItem -Path $pyHome -Filter 'python3*._pth' | Select-Object -First 1
    if ($null -eq $pth) {
        Fail "không phải gói Python nhúng: $Zip" "not a Python embeddable package: $Zip"
    }
    $lines = Get-Content $pth.FullName | ForEach-Object { $_ -replace '^#\s*import site', 'import site' }
    if ($lines -notcontains 'Lib\site-packages') { $lines = @('Lib\site-packages') + $lines }
    Set-Content -Path $pth.FullName -Value $lines -Encoding ASCII
    Assert-Python $py
    $pipWheel = Get-ChildItem -Path $Bundle -Filter 'pip-*.whl' | Select-Object -First 1
    if ($null -eq $pipWheel) { Fail 'gói thiếu pip-*.whl' 'the bundle has no pip-*.whl' }
    if (-not (Test-Native $py @('-c', 'import pip'))) {
        $pipMain = Join-Path $pipWheel.FullName 'pip'
        Invoke-Checked $py @($pipMain, 'install', '--no-index', '--find-links', $Bundle, 'pip') 'install pip'
    }
    return $py
}

function Stop-AgentService {
    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if ($null -ne $service -and $service.Status -ne 'Stopped') {
        Say 'dừng dịch vụ để nâng cấp' 'stopping the service to upgrade'
        Stop-Service -Name $ServiceName -Force
        $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
    }
}

function Install-Agent([string] $Py) {
    Say "cài $Project từ gói $Bundle (không cần Internet)" "installing $Project from $Bundle (no internet)"
    $pip = @('-m', 'pip', 'install', '--no-index', '--find-links', $Bundle, '--disable-pip-version-check')
    Invoke-Checked $Py ($pip + @('--upgrade', $Project)) 'install the agent'
    # Same version, new build: reinstall the project wheel itself.
    Invoke-Checked $Py ($pip + @('--force-reinstall', '--no-deps', $Project)) 'reinstall the agent wheel'
    # pywin32's DLLs where the service host (pythonservice.exe) finds them.
    if (-not (Test-Native $Py @('-m', 'pywin32_postinstall', '-install', '-quiet'))) {
        $script = Join-Path (Split-Path $Py) 'Scripts\pywin32_postinstall.py'
        if (-not (Test-Path $script)) { $script = Join-Path (Split-Path $Py) 'pywin32_postinstall.py' }
        Invoke-Checked $Py @($script, '-install', '-quiet') 'set up pywin32'
    }
}

function Set-DataDirAcl {
    New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
    # SYSTEM and Administrators only, inheritance removed: the token in agent.json and the
    # spool are readable by nobody else (on Windows the 0600/0700 modes mean nothing).
    Invoke-Checked 'icacls.exe' @($DataDir, '/inheritance:r', '/grant:r',
        "${SidSystem}:(OI)(CI)F", "${SidAdmins}:(OI)(CI)F", '/Q') 'set the ACL of the data directory'
}

function Write-AgentConfig {
    $config = Join-Path $DataDir 'agent.yaml'
    if ($ConfigFile) {
        Copy-Item -Path $ConfigFile -Destination $config -Force
        return $config
    }
    if ((Test-Path $config) -and -not $CollectorUrl) { return $config }
    if (-not $CollectorUrl) {
        Fail 'thiếu -CollectorUrl (hoặc -ConfigFile)' 'missing -CollectorUrl (or -ConfigFile)'
    }
    $lines = @('# Written by install.ps1; see docs/agent.example.yaml for every option.',
        "state_dir: '$DataDir'", 'collector:', "  url: '$CollectorUrl'")
    if ($CaFile) {
        $ca = Join-Path $DataDir 'ca.pem'
        Copy-Item -Path $CaFile -Destination $ca -Force
        $lines += "  ca_file: '$ca'"
    }
    if ($CertSha256) { $lines += "  cert_sha256: '$CertSha256'" }
    [IO.File]::WriteAllLines($config, [string[]] $lines)  # UTF-8 without a byte order mark
    return $config
}

function Invoke-Enroll([string] $Py, [string] $Config) {
    if (Test-Path (Join-Path $DataDir 'agent.json')) {
        Say 'máy đã đăng ký, bỏ qua bước đăng ký' 'already enrolled: enrollment skipped'
        return
    }
    if (-not $EnrollmentCode) {
        Fail 'máy chưa đăng ký: cần -EnrollmentCode' 'not enrolled yet: -EnrollmentCode is needed'
    }
    Say 'đăng ký với máy chủ IOC của tỉnh' "enrolling with the province's collector"
    Invoke-Checked $Py @('-m', 'agent', 'enroll', '--config', $Config, '--code', $EnrollmentCode,
        '--state-dir', $DataDir) 'enroll (check the code and the collector URL)'
}

function Register-AgentService([string] $Py, [string] $Config) {
    $exists = $null -ne (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)
    $verb = if ($exists) { 'update' } else { 'install' }
    Invoke-Checked $Py @('-m', 'agent.winservice', '--startup', 'delayed', $verb) 'register the service'
    Invoke-Checked 'sc.exe' @('config', $ServiceName, 'start=', 'delayed-auto') 'set the start type'
    Invoke-Checked 'sc.exe' @('failure', $ServiceName, 'reset=', '86400',
        'actions=', 'restart/60000/restart/60000/restart/60000') 'set the recovery actions'
    # Recovery also when the service stops with an error, not only when it crashes.
    Invoke-Checked 'sc.exe' @('failureflag', $ServiceName, '1') 'set the recovery flag'
    # The service reads this configuration (IOC_AGENT_CONFIG), wherever -DataDir put it.
    Set-ItemProperty -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$ServiceName" `
        -Name Environment -Type MultiString -Value @("IOC_AGENT_CONFIG=$Config")
}

Assert-Administrator
if (-not (Test-Path (Join-Path $Bundle 'commune_ioc-*.whl'))) {
    Fail "không thấy gói cài trong $Bundle" "no commune_ioc wheel in $Bundle"
}
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Set-DataDirAcl
Stop-AgentService
if ($PSCmdlet.ParameterSetName -eq 'Embedded') {
    $py = Install-EmbeddedPython $EmbeddedPython
} else {
    if (-not $Python) {
        $found = Get-Command python.exe -ErrorAction SilentlyContinue
        if ($null -eq $found) { Fail 'không thấy Python: dùng -Python hoặc -EmbeddedPython' 'no Python found: use -Python or -EmbeddedPython' }
        $Python = $found.Source
    }
    $py = Install-FromInstalledPython $Python
}
Install-Agent $py
$config = Write-AgentConfig
Invoke-Enroll $py $config
Register-AgentService $py $config
if (-not $NoStart) {
    Start-Service -Name $ServiceName
    Say 'dịch vụ ioc-agent đang chạy' 'the ioc-agent service is running'
}
Say "xong; nhật ký tại $DataDir\logs\agent.log" "done; log in $DataDir\logs\agent.log"
