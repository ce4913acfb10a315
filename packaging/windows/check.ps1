# Check the Windows installer made by build.ps1: install it silently into a scratch directory and run the
# installed `merchant-terminal.exe --self-test` offscreen, as packaging/linux/check.sh does.
#
#   powershell -File packaging/windows/check.ps1 [-InDir build\installers]
#
# The frozen terminal is a windowed program on Windows (no console window at the counter), so the
# self-test's verdict is its exit code, and its log is shown when it fails.
param([string]$InDir = "build\installers")
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

$Setup = Get-ChildItem $InDir -Filter "merchant-terminal-*-windows-x64-setup.exe" | Select-Object -First 1
if (-not $Setup) { throw "check: no setup .exe in $InDir (run packaging/windows/build.ps1)" }
$Scratch = Join-Path ([IO.Path]::GetTempPath()) ("merchant-terminal-check-" + [guid]::NewGuid())
$Target = Join-Path $Scratch "app"
$Data = Join-Path $Scratch "data"

$Install = Start-Process $Setup.FullName -Wait -PassThru -ArgumentList `
    "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER", "/DIR=`"$Target`"", "/LOG=`"$Scratch\setup.log`""
if ($Install.ExitCode -ne 0) { Get-Content "$Scratch\setup.log"; throw "check: setup exited $($Install.ExitCode)" }
$Exe = Join-Path $Target "merchant-terminal.exe"
if (-not (Test-Path $Exe)) { throw "check: $Exe was not installed" }

$env:QT_QPA_PLATFORM = "offscreen"
$Run = Start-Process $Exe -Wait -PassThru -ArgumentList "--self-test", "--data-dir", "`"$Data`""
if ($Run.ExitCode -ne 0) {
    Get-ChildItem "$Data\logs" -ErrorAction SilentlyContinue | ForEach-Object { Get-Content $_.FullName }
    throw "check: --self-test exited $($Run.ExitCode)"
}
if (-not (Test-Path "$Data\terminal.db")) { throw "check: the self-test wrote no database" }
$Size = (Get-ChildItem $Target -Recurse -File | Measure-Object Length -Sum).Sum / 1MB
Write-Host ("check: setup: self-test OK; installed {0:N0} MB; setup {1:N0} MB" -f $Size, ($Setup.Length / 1MB))

$Uninstaller = Join-Path $Target "unins000.exe"
if (Test-Path $Uninstaller) { Start-Process $Uninstaller -Wait -ArgumentList "/VERYSILENT", "/SUPPRESSMSGBOXES" }
