; Inno Setup script: the Windows installer of the one-folder bundle that packaging/reid-desktop.spec
; builds (dist\cpu\reid-desktop). Not run on the Linux build machine; .github/workflows/package.yml
; runs it on a Windows runner:
;   iscc /DAppVersion=0.1.0 /DFlavour=cpu packaging\windows\reid-desktop.iss
; Installs per machine under Program Files, a Start menu entry, .reidproj files open with the app,
; and (optional task) the install folder on PATH for reid and reid-train. Uninstalling removes the
; folder; projects are never inside it.

#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (reid_desktop/__init__.py)
#endif
#ifndef Flavour
  #define Flavour "cpu"
#endif

[Setup]
AppId={{6F2B7C1E-9D4A-4E3B-8A51-2C7D0E9F4B10}
AppName=reid-desktop
AppVersion={#AppVersion}
AppPublisher=the reid-desktop contributors
DefaultDirName={autopf}\reid-desktop
DefaultGroupName=reid-desktop
DisableProgramGroupPage=yes
LicenseFile=..\..\LICENSE
OutputDir=..\..\dist
OutputBaseFilename=reid-desktop-{#AppVersion}-{#Flavour}-setup
SetupIconFile=..\..\build\icons\reid-desktop.ico
UninstallDisplayIcon={app}\reid-desktop.exe
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; PyTorch makes the bundle gigabytes: fast LZMA, and slices beside setup.exe past 2 GB.
Compression=lzma2/fast
SolidCompression=no
DiskSpanning=yes
DiskSliceSize=max
ChangesAssociations=yes
ChangesEnvironment=yes
; An upgrade installs over the previous version in the same folder (same AppId).
UsePreviousAppDir=yes
CloseApplications=yes

[Tasks]
Name: "addtopath"; Description: "Add reid and reid-train to PATH (command line use)"; Flags: unchecked

[Files]
; The whole bundle; files of an older version that this one no longer has are removed first.
Source: "..\..\dist\{#Flavour}\reid-desktop\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[InstallDelete]
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\reid-desktop"; Filename: "{app}\reid-desktop.exe"
Name: "{autoprograms}\reid-desktop licences"; Filename: "{app}\_internal\licenses"

[Registry]
Root: HKA; Subkey: "Software\Classes\.reidproj"; ValueType: string; ValueName: ""; ValueData: "reid-desktop.project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\reid-desktop.project"; ValueType: string; ValueName: ""; ValueData: "reid-desktop project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\reid-desktop.project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\reid-desktop.exe,0"
Root: HKA; Subkey: "Software\Classes\reid-desktop.project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\reid-desktop.exe"" ""%1"""
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NotOnPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\reid-desktop.exe"; Description: "Start reid-desktop"; Flags: nowait postinstall skipifsilent

[Code]
function NotOnPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment', 'Path', Path) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Path, Dir: string;
  P: Integer;
begin
  { Take the install folder back off PATH. }
  if CurUninstallStep <> usPostUninstall then
    exit;
  Dir := ';' + ExpandConstant('{app}');
  if RegQueryStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment', 'Path', Path) then
  begin
    P := Pos(Uppercase(Dir), Uppercase(Path));
    if P > 0 then
    begin
      Delete(Path, P, Length(Dir));
      RegWriteExpandStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment', 'Path', Path);
    end;
  end;
end;
