# Build Hearth's Windows bundle and per-user installer. Run from the repository root in
# PowerShell, with the venv made as the README's Windows section says and Inno Setup 6 installed
# (winget install JRSoftware.InnoSetup):
#     powershell -ExecutionPolicy Bypass -File installer\windows\build-installer.ps1
# For CUDA, first reinstall llama-cpp-python with  $env:CMAKE_ARGS="-DGGML_CUDA=on"
# (see packaging\README.md).
$ErrorActionPreference = "Stop"
$root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $root
$version = (Select-String -Path app\__init__.py -Pattern '^__version__ = "(.*)"').Matches[0].Groups[1].Value

.venv\Scripts\python -m pip install -q -e ".[package]"
.venv\Scripts\pyinstaller --noconfirm --clean --distpath dist --workpath build packaging\hearth.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed ($LASTEXITCODE)" }

# Smoke test the bundle before packing it.
$out = & dist\hearth\hearth.exe --version
if ($out -ne "hearth $version") { throw "dist\hearth\hearth.exe --version printed '$out'" }

$iscc = @(
  "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe",
  "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe",
  "$env:ProgramFiles\Inno Setup 6\ISCC.exe"
) | Where-Object { Test-Path $_ } | Select-Object -First 1
if (-not $iscc) { throw "Inno Setup 6 not found: winget install JRSoftware.InnoSetup" }
& $iscc "/DAppVersion=$version" installer\windows\hearth.iss
if ($LASTEXITCODE -ne 0) { throw "ISCC failed ($LASTEXITCODE)" }
Write-Host "Built dist\hearth-$version-windows-x64-setup.exe"
