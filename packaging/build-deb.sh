#!/usr/bin/env bash
# Builds the Debian package castellan_VERSION_amd64.deb from the distribution jars, offline:
# a staged tree and dpkg-deb, nothing downloaded.
#   ./mvnw -B -DskipTests -pl castellan-server -am package    # the jars (target/castellan-server.jar, target/lib)
#   packaging/build-deb.sh [--out DIR]                         # the .deb, in castellan-server/target by default
#   packaging/build-deb.sh --stage-only DIR                    # only the tree the package would install, under DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
dist="$root/castellan-server/target"
out="$dist"
stage=""
stage_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --stage-only) stage=$2; stage_only=1; shift 2 ;;
    *) echo "build-deb: unknown argument $1 (use --out DIR or --stage-only DIR)" >&2; exit 2 ;;
  esac
done
if [ ! -f "$dist/castellan-server.jar" ] || [ ! -d "$dist/lib" ]; then
  echo "build-deb: $dist/castellan-server.jar or $dist/lib is missing;" \
    "build them first: ./mvnw -B -DskipTests -pl castellan-server -am package" >&2
  exit 1
fi

# The project's version, with Debian's '~' so that 0.1.0~SNAPSHOT sorts before 0.1.0.
version=$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' "$root/pom.xml" | head -1)
deb_version=${version//-/\~}

if [ -z "$stage" ]; then stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT; fi
tree="$stage/castellan"
rm -rf "$tree"
install -d -m 0755 "$tree/usr/bin" "$tree/usr/share/castellan/lib" "$tree/lib/systemd/system" \
  "$tree/usr/share/doc/castellan" "$tree/etc/default" "$tree/DEBIAN"
install -m 0755 "$here/castellan" "$tree/usr/bin/castellan"
install -m 0644 "$dist/castellan-server.jar" "$dist"/lib/*.jar "$tree/usr/share/castellan/lib/"
install -m 0644 "$here/castellan.service" "$tree/lib/systemd/system/castellan.service"
install -m 0644 "$here/debian/default" "$tree/etc/default/castellan"
for doc in install.md administration.md configuration.md authentication.md; do
  install -m 0644 "$root/docs/$doc" "$tree/usr/share/doc/castellan/$doc"
done
install -m 0644 "$root/LICENSE" "$tree/usr/share/doc/castellan/copyright"
[ "$stage_only" = 1 ] && { echo "$tree"; exit 0; }

size=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
sed -e "s/@VERSION@/$deb_version/" -e "s/@SIZE@/$size/" "$here/debian/control.in" > "$tree/DEBIAN/control"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$tree/DEBIAN/"
echo "/etc/default/castellan" > "$tree/DEBIAN/conffiles"
mkdir -p "$out"
deb="$out/castellan_${deb_version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$tree" "$deb" >/dev/null
echo "$deb"
