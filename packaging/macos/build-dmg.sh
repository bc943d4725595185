#!/bin/sh
# macOS: reid-desktop.app (the same spec; BUNDLE puts reid, reid-train beside the app in
# Contents/MacOS) in a compressed .dmg with a link to /Applications. Not run on the Linux build
# machine; .github/workflows/package.yml runs it on a macOS runner. Ad-hoc signed only: signing
# with a Developer ID and notarising need the project's Apple credentials, which CI does not hold.
set -eu
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' reid_desktop/__init__.py)
"$PY" packaging/icons.py build/icons
"$PY" -m PyInstaller --noconfirm --distpath dist/cpu --workpath build/cpu packaging/reid-desktop.spec -- --flavour cpu
APP=dist/cpu/reid-desktop.app
codesign --force --deep --sign - "$APP"
STAGE=build/dmg
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "reid-desktop $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov \
  "dist/reid-desktop-$VERSION-macos.dmg"
echo "dist/reid-desktop-$VERSION-macos.dmg"
