; Inno Setup script: a per-user or all-users installer with a Start-menu entry and an uninstaller.
; Build the bundle first (python packaging\build.py), then:
;   iscc /DAppVersion=0.1.0 packaging\windows\desktop-app.iss
; The result is build\desktop-app-setup-0.1.0.exe. Inno Setup 6 (https://jrsoftware.org) is
; preinstalled on GitHub's windows-latest runners.
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C0F4E55-2B7D-4D8A-9A61-3D0C7E8A51B2}
AppName=Desktop App
AppVersion={#AppVersion}
AppPublisher=Desktop App developers
DefaultDirName={autopf}\Desktop App
DefaultGroupName=Desktop App
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\build
OutputBaseFilename=desktop-app-setup-{#AppVersion}
SetupIconFile=..\..\assets\icon.ico
UninstallDisplayIcon={app}\desktop-app.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern

[Files]
Source: "..\..\build\dist\desktop-app\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Desktop App"; Filename: "{app}\desktop-app.exe"
Name: "{group}\Uninstall Desktop App"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Desktop App"; Filename: "{app}\desktop-app.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\desktop-app.exe"; Description: "Start Desktop App"; Flags: nowait postinstall skipifsilent
