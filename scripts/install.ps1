# Installs the spaces-mcp binary for Windows (x86_64) from a GitHub release,
# after checking its SHA-256, into %LOCALAPPDATA%\Programs\spaces-mcp, and puts
# that folder on the user's PATH.
#
#   powershell -ExecutionPolicy Bypass -c "irm https://github.com/spaces-mcp/spaces-mcp/releases/latest/download/spaces-mcp-installer.ps1 | iex"
#
# $env:SPACES_MCP_VERSION picks a release (v0.1.0; default: the latest);
# $env:SPACES_MCP_DOWNLOAD_URL replaces the whole download folder (a mirror).
$ErrorActionPreference = 'Stop'

$repo = 'spaces-mcp/spaces-mcp'
$version = if ($env:SPACES_MCP_VERSION) { $env:SPACES_MCP_VERSION } else { 'latest' }
$installDir = if ($env:SPACES_MCP_INSTALL_DIR) { $env:SPACES_MCP_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'Programs\spaces-mcp' }

if (-not [Environment]::Is64BitOperatingSystem) {
    throw 'spaces-mcp installer: no release binary for 32-bit Windows; try: cargo install --locked spaces-mcp'
}
$asset = 'spaces-mcp-x86_64-pc-windows-msvc.zip'
if ($env:SPACES_MCP_DOWNLOAD_URL) {
    $base = $env:SPACES_MCP_DOWNLOAD_URL
} elseif ($version -eq 'latest') {
    $base = "https://github.com/$repo/releases/latest/download"
} else {
    $base = "https://github.com/$repo/releases/download/$version"
}

$work = Join-Path ([IO.Path]::GetTempPath()) ([Guid]::NewGuid().ToString())
New-Item -ItemType Directory -Path $work | Out-Null
try {
    Write-Host "spaces-mcp installer: downloading $asset"
    Invoke-WebRequest -UseBasicParsing -Uri "$base/$asset" -OutFile (Join-Path $work $asset)
    Invoke-WebRequest -UseBasicParsing -Uri "$base/$asset.sha256" -OutFile (Join-Path $work "$asset.sha256")
    $expected = ((Get-Content (Join-Path $work "$asset.sha256") -Raw).Trim() -split '\s+')[0].ToLowerInvariant()
    $actual = (Get-FileHash -Algorithm SHA256 (Join-Path $work $asset)).Hash.ToLowerInvariant()
    if ($expected -ne $actual) {
        throw "spaces-mcp installer: checksum mismatch for $asset (expected $expected, got $actual); nothing was installed"
    }
    Expand-Archive -Path (Join-Path $work $asset) -DestinationPath $work -Force
    New-Item -ItemType Directory -Force -Path $installDir | Out-Null
    Copy-Item (Join-Path $work 'spaces-mcp.exe') (Join-Path $installDir 'spaces-mcp.exe') -Force
} finally {
    Remove-Item -Recurse -Force $work
}

$userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
if (-not ($userPath -split ';' | Where-Object { $_ -eq $installDir })) {
    [Environment]::SetEnvironmentVariable('Path', "$userPath;$installDir", 'User')
    Write-Host "spaces-mcp installer: added $installDir to your PATH (new terminals see it)"
}
$exe = Join-Path $installDir 'spaces-mcp.exe'
Write-Host "spaces-mcp installer: installed $(& $exe --version) in $installDir"
Write-Host "spaces-mcp installer: next: spaces-mcp config claude --install   (or: config cursor | vscode | claude-code | windsurf)"
