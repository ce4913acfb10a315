# Build the Windows installer: the PyInstaller one-folder build, then Inno Setup (iscc) around it.
#
#   powershell -File packaging/windows/build.ps1 [-OutDir build\installers]
#
# The same steps as packaging/linux/build.sh: version from the package metadata, icon drawn with Qt,
# PyInstaller with packaging/merchant-terminal.spec, then the installer. Needs Inno Setup 6 (iscc on PATH
# or in its default folder) and the terminal installed with the packaging extra.
param([string]$OutDir = "build\installers", [string]$Python = "python")
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

$Version = & $Python -c 'from importlib.metadata import version; print(version("merchant-terminal"))'
if ($LASTEXITCODE -ne 0) { throw "merchant-terminal is not installed: pip install -e .[packaging]" }
Write-Host "build: merchant-terminal $Version"

& $Python packaging/make_icon.py packaging/build
if ($LASTEXITCODE -ne 0) { throw "icon failed" }

& $Python -m PyInstaller --noconfirm --clean --log-level WARN `
    --distpath build\pyinstaller\dist --workpath build\pyinstaller\work packaging\merchant-terminal.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

$Iscc = (Get-Command iscc -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
New-Item -ItemType Directory -Force $OutDir | Out-Null
$Out = (Resolve-Path $OutDir).Path
$Src = (Resolve-Path "build\pyinstaller\dist\merchant-terminal").Path
& $Iscc /Q "/DAppVersion=$Version" "/DSourceDir=$Src" "/DOutputDir=$Out" packaging\windows\merchant-terminal.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }

$Unpacked = (Get-ChildItem $Src -Recurse -File | Measure-Object Length -Sum).Sum
$Setup = Get-Item (Join-Path $Out "merchant-terminal-$Version-windows-x64-setup.exe")
"version=$Version`nunpacked_bytes=$Unpacked`nsetup_bytes=$($Setup.Length)" | Tee-Object (Join-Path $Out "sizes-windows.txt")
