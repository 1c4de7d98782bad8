#!/usr/bin/env bash
# Build Varnish Cache releases from a local (bare) git mirror into /tmp/varnish/<version>.
#
# Usage:
#   build.sh [GIT_DIR] [TAG ...]
#   VARNISH_GIT=/path/to/repo build.sh varnish-7.7.3
#
#   GIT_DIR      bare git dir of varnishcache/varnish-cache (first arg if it is a
#                directory; else $VARNISH_GIT; else the default below)
#   TAG ...      release tags (default: the four listed in DEFAULT_TAGS)
#
# Environment:
#   FORCE=1        rebuild even if /tmp/varnish/<version>/sbin/varnishd already works
#   SKIP_APT=1     do not apt-get install build dependencies
#   PREFIX_ROOT    install root        (default /tmp/varnish)
#   SRC_ROOT       source/build root   (default /tmp/varnish-src)
#   MIRROR_ROOT    where git mirrors of submodules live, as <owner>+<name>/repo
#                  (default /work/.mirror; needed for 8.0's bin/varnishtest/vtest2)
#   JOBS           make -j value       (default 2)
set -euo pipefail

DEFAULT_GIT=/work/.mirror/varnishcache+varnish-cache/repo
DEFAULT_TAGS=(varnish-6.0.16 varnish-6.6.2 varnish-7.7.3 varnish-8.0.0)

if [[ $# -gt 0 && -d "$1" ]]; then GIT_DIR_SRC=$1; shift; else GIT_DIR_SRC=${VARNISH_GIT:-$DEFAULT_GIT}; fi
if [[ $# -gt 0 ]]; then TAGS=("$@"); else TAGS=("${DEFAULT_TAGS[@]}"); fi
PREFIX_ROOT=${PREFIX_ROOT:-/tmp/varnish}
SRC_ROOT=${SRC_ROOT:-/tmp/varnish-src}
MIRROR_ROOT=${MIRROR_ROOT:-/work/.mirror}
JOBS=${JOBS:-2}
FORCE=${FORCE:-0}

# Use the Debian toolchain/python (the box may have a pyenv python3 first in PATH;
# rst2man from python3-docutils lives under the system python).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PYTHON=/usr/bin/python3

log() { printf '[varnish-build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

git --git-dir="$GIT_DIR_SRC" rev-parse --git-dir >/dev/null 2>&1 || die "not a git dir: $GIT_DIR_SRC"

APT_PKGS=(build-essential autoconf automake libtool pkg-config make git
          python3 python3-docutils
          libpcre3-dev libpcre2-dev libedit-dev libncurses-dev libjemalloc-dev
          curl)
if [[ ${SKIP_APT:-0} != 1 ]]; then
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "apt-get install ${missing[*]}"
    [[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]] || apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

# Map a submodule URL (https://github.com/OWNER/NAME(.git)) to a local mirror git dir.
mirror_for_url() {
  local url=$1 path
  path=${url#*github.com[:/]}; path=${path%.git}; path=${path%/}
  echo "$MIRROR_ROOT/${path%%/*}+${path#*/}/repo"
}

# Per-version extra configure args / CFLAGS (none turned out to be needed on
# Debian bookworm / GCC 12; the hook is kept so tweaks are recorded in one place).
extra_configure_args() {
  case $1 in
    *) echo "" ;;
  esac
}

summary=()
for tag in "${TAGS[@]}"; do
  ver=${tag#varnish-}
  prefix=$PREFIX_ROOT/$ver
  src=$SRC_ROOT/$ver
  git --git-dir="$GIT_DIR_SRC" rev-parse -q --verify "refs/tags/$tag" >/dev/null || die "no such tag: $tag"

  if [[ $FORCE != 1 && -x $prefix/sbin/varnishd ]] && "$prefix/sbin/varnishd" -V >/dev/null 2>&1; then
    log "$tag: already installed in $prefix (FORCE=1 to rebuild)"
    summary+=("$tag skipped")
    continue
  fi

  log "$tag: preparing source in $src"
  rm -rf "$src"
  mkdir -p "$SRC_ROOT"
  # --shared clone (objects borrowed from the mirror): keeps a .git so that
  # include/generate.py records the real commit in 'varnishd -V'.
  git clone -q --shared --no-checkout "$GIT_DIR_SRC" "$src"
  git -C "$src" -c advice.detachedHead=false checkout -q "refs/tags/$tag"

  # Submodules (8.0+: bin/varnishtest/vtest2) from local mirrors.
  while read -r mode _type sha path; do
    [[ $mode == 160000 ]] || continue
    name=$(git -C "$src" config -f .gitmodules --get-regexp '\.path$' |
           awk -v p="$path" '$2==p{sub(/\.path$/,"",$1); print $1}')
    url=$(git -C "$src" config -f .gitmodules --get "$name.url")
    sub_git=$(mirror_for_url "$url")
    git --git-dir="$sub_git" cat-file -e "$sha^{commit}" 2>/dev/null ||
      die "$tag: submodule $path ($url @ $sha) not found in $sub_git"
    log "$tag: submodule $path <- $sub_git @ ${sha:0:12}"
    mkdir -p "$src/$path"
    git --git-dir="$sub_git" archive "$sha" | tar -x -C "$src/$path"
  done < <(git -C "$src" ls-tree -r HEAD)

  buildlog=$SRC_ROOT/$ver.build.log
  : > "$buildlog"
  start=$(date +%s)
  log "$tag: building (log: $buildlog)"
  (
    set -e
    cd "$src"
    ./autogen.sh
    # shellcheck disable=SC2046
    ./configure --prefix="$prefix" \
        --with-rst2man=/usr/bin/rst2man --with-rst2html=/usr/bin/rst2html \
        --with-sphinx-build=false \
        $(extra_configure_args "$ver")
    make -j"$JOBS"
    rm -rf "$prefix"
    make install
  ) >>"$buildlog" 2>&1 || { tail -40 "$buildlog" >&2; die "$tag: build failed, see $buildlog"; }
  secs=$(( $(date +%s) - start ))
  {
    echo "tag=$tag"
    echo "commit=$(git -C "$src" rev-parse HEAD)"
    echo "build_seconds=$secs"
    echo "built_at=$(date -u +%FT%TZ)"
    echo "configure_extra=$(extra_configure_args "$ver")"
  } > "$prefix/BUILD-INFO"
  log "$tag: done in ${secs}s"
  summary+=("$tag built in ${secs}s")
done

echo
for tag in "${TAGS[@]}"; do
  ver=${tag#varnish-}
  echo "== $PREFIX_ROOT/$ver"
  "$PREFIX_ROOT/$ver/sbin/varnishd" -V 2>&1 | sed -n 1p
done
printf '%s\n' "${summary[@]}"
