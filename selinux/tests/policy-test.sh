#!/bin/sh
# policy-test.sh MODULE.pp LINKED_DIR: run policy-test.py (setools, the
# library behind sesearch) on the policy link-policy.sh built, after
# printing the key rules with sesearch itself for the log.
set -eu

pp=$1
linked=$2
[ -f "$linked/skip" ] && { echo "1..0 # SKIP $(cat "$linked/skip")"; exit 77; }
pol=$(cat "$linked/policy-path")
py=/usr/bin/python3    # python3-setools is installed for the system python
"$py" -c 'import setools' 2>/dev/null || { echo "1..0 # SKIP python3-setools missing (install setools)"; exit 77; }

cil=$linked/hvvss.cil
/usr/libexec/selinux/hll/pp "$pp" "$cil"

echo "# sesearch -A -s hvvssd_t -c capability,capability2"
sesearch -A -s hvvssd_t -c capability,capability2 "$pol" | sed 's/^/#   /'
echo "# sesearch -A -s hvvssd_t -c process -p transition,dyntransition"
sesearch -A -s hvvssd_t -c process -p transition,dyntransition "$pol" | sed 's/^/#   /'
echo "# sesearch -T -s hvvssd_t"
sesearch -T -s hvvssd_t "$pol" | sed 's/^/#   /'

exec "$py" "$(dirname "$0")/policy-test.py" "$pol" "$cil"
