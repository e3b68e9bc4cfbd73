#!/usr/bin/env bash
# Runs `leakwatch check` on real code nobody here wrote, fetched from the
# registries: Django, Flask, requests, celery (PyPI), express, react-bootstrap,
# socket.io, ws, mongoose (npm),
# Go modules from Debian's golang-*-dev packages, Ruby gems (ruby-rack,
# ruby-sinatra, ruby-activesupport, ruby-sidekiq) and PHP components
# (php-guzzlehttp-guzzle and -psr7, php-symfony-http-foundation,
# php-symfony-console, php-symfony-messenger, php-laravel-framework) from
# Debian's packages. Reports findings per kLOC,
# skipped/partly parsed files and crashes, and writes every finding to
# $WORK/findings-<name>.txt for review by hand.
#
# Usage: bench/check/realworld.sh [WORKDIR]   (default /tmp/leakwatch-realworld)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/leakwatch-realworld}
mkdir -p "$WORK"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p leakwatch
LW="$CARGO_TARGET_DIR/release/leakwatch"

fetch_pypi() { # name version
  local dir="$WORK/$1"
  [ -d "$dir" ] && return
  mkdir -p "$dir"
  pip download -q --no-deps --only-binary :all: -d "$WORK/dl" "$1==$2"
  unzip -q -o "$(ls "$WORK"/dl/*.whl | grep -i "/${1}-$2-")" -d "$dir"
}
fetch_npm() { # name version
  local dir="$WORK/$1"
  [ -d "$dir" ] && return
  mkdir -p "$dir" "$WORK/dl"
  (cd "$WORK/dl" && npm pack --silent "$1@$2" >/dev/null)
  tar -xzf "$WORK"/dl/"$1"-"$2".tgz -C "$dir"
}
fetch_deb_go() { # debian package, import path
  local src="/usr/share/gocode/src/$2"
  if [ ! -d "$src" ]; then
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$1" >/dev/null
  fi
  ln -sfn "$src" "$WORK/$(basename "$2")"
}

fetch_deb_dir() { # name, debian packages (space separated), glob of the installed directory
  local missing=()
  for p in $2; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
  fi
  # shellcheck disable=SC2086
  ln -sfn $3 "$WORK/$1"
}

fetch_pypi Django 4.2.16
fetch_pypi Flask 3.0.3
fetch_pypi requests 2.32.3
fetch_pypi celery 5.4.0
fetch_npm express 4.21.1
fetch_npm react-bootstrap 2.10.5
fetch_npm socket.io 4.8.1
fetch_npm ws 8.18.0
fetch_npm mongoose 8.8.1
fetch_deb_go golang-github-gin-gonic-gin-dev github.com/gin-gonic/gin
fetch_deb_go golang-github-prometheus-client-golang-dev github.com/prometheus/client_golang
fetch_deb_go golang-github-hashicorp-raft-dev github.com/hashicorp/raft
fetch_deb_dir rack ruby-rack "/usr/share/rubygems-integration/all/gems/rack-2*"
fetch_deb_dir sinatra ruby-sinatra "/usr/share/rubygems-integration/all/gems/sinatra-3*"
fetch_deb_dir guzzle "php-guzzlehttp-guzzle php-guzzlehttp-psr7" /usr/share/php/GuzzleHttp
fetch_deb_dir symfony-http-foundation php-symfony-http-foundation /usr/share/php/Symfony/Component/HttpFoundation
fetch_deb_dir symfony-console php-symfony-console /usr/share/php/Symfony/Component/Console
fetch_deb_dir activesupport ruby-activesupport "/usr/share/rubygems-integration/all/gems/activesupport-6*"
fetch_deb_dir sidekiq ruby-sidekiq "/usr/share/rubygems-integration/all/gems/sidekiq-6*"
fetch_deb_dir symfony-messenger php-symfony-messenger /usr/share/php/Symfony/Component/Messenger
fetch_deb_dir laravel php-laravel-framework /usr/share/php/Illuminate

# shellcheck source=bench/check/check_tree.sh
. bench/check/check_tree.sh
check_tree_header
for name in Django Flask requests celery express react-bootstrap socket.io ws mongoose gin client_golang raft \
    rack sinatra guzzle symfony-http-foundation symfony-console activesupport sidekiq \
    symfony-messenger laravel; do
  check_tree "$name" "$WORK/$name"
done
echo "findings written to $WORK/findings-*.txt"
