#!/bin/sh
# The Debian packages the tests use for real, in one place (README's test block and .ci/run
# both run this script):
#   apache2 ........ runs dasflex-cgi under a real Apache (tests/cgi)
#   openssl ........ makes the TLS certificates of the WebSocket daemon test
#   util-linux ..... setpriv, to run Apache as www-data when the tests run as root
#   chromium ....... loads the pages headless (tests/browser)
#   redis-server ... the shared job queue (tests/jobs)
#   gcc, gfortran .. compile the C and Fortran example readers
PACKAGES="apache2 openssl util-linux chromium redis-server gcc gfortran"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "not a Debian system: install these packages (or their equivalents) yourself: $PACKAGES"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq $PACKAGES >/dev/null
