#!/usr/bin/env bash
# Debian packages that some tests use to check what regplan generates with the real programs:
#   the ShellCheck linter: the `-o oc` scripts (tests/unit/test_oc_scripts.py)
#   zsh, fish   the completion scripts, run in the real shells (tests/unit/test_completion.py)
# Installs the missing ones when run as root where apt-get exists (CI and the team's machines); otherwise,
# or when the install fails, says which are missing: the tests that need one then skip, naming it.
set -uo pipefail

missing=()
for tool in shellcheck zsh fish; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        exit 0
    fi
fi
echo "[get-test-tools] not installed: ${missing[*]} (the tests that run them skip, naming them)" >&2
exit 0
