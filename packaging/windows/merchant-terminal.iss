; Inno Setup script: installs the PyInstaller one-folder build of Merchant Terminal on Windows.
;
;   iscc /DAppVersion=0.1.0 /DSourceDir=build\pyinstaller\dist\merchant-terminal ^
;        /DOutputDir=build\installers packaging\windows\merchant-terminal.iss
;
; packaging/windows/build.ps1 runs it after PyInstaller; the workflow (.github/workflows/installers.yml)
; then installs silently into a scratch directory and runs the installed `--self-test`, as the Linux check does.

#ifndef AppVersion
  #error AppVersion must be given: iscc /DAppVersion=X.Y.Z
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\pyinstaller\dist\merchant-terminal"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\build\installers"
#endif
#define AppName "Merchant Terminal"
#define AppExe "merchant-terminal.exe"

[Setup]
; A fixed AppId keeps upgrades in place: never change it.
AppId={{6F1B7E52-3C4A-4E8B-9A57-2D1C9E0B7A11}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Merchant Terminal
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-user install by default (no administrator needed at the shop counter); admins may choose all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=merchant-terminal-{#AppVersion}-windows-x64-setup
SetupIconFile=..\build\merchant-terminal.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; The terminal keeps its database and logs in the user's data directory, never in {app}: an uninstall
; leaves the shop's payment history alone.

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
