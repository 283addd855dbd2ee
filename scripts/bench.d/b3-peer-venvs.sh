# Sourced by scripts/bench (row B3): make sure the regret peers' venvs exist, one a peer, as
# their pinned dependencies disagree (HEBO wants numpy < 1.25; SMAC3 builds pyrfr with swig):
#   $CACHE/b3-smac-venv      smac 2.4.1 (pyrfr 0.9.0 is built from source: needs swig and g++)
#   $CACHE/b3-hebo-venv      HEBO 0.3.6, every dependency pinned in b3-hebo-requirements.txt
#                            (reads torch from the project's torch venv by a .pth)
#   $CACHE/b3-hyperopt-venv  hyperopt 0.3.0
# A venv that cannot be made is left out: its row in BENCHMARKS.md then says why (the last
# lines of the failed install are kept in $CACHE/b3-<peer>-venv.failed). Each is tried once;
# delete the .failed file to try again.
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/hpflow
TORCH_VENV=${TORCH_VENV:-$CACHE/torch-2.11.0}
mkdir -p "$CACHE"

b3_venv() {  # NAME IMPORT PIP-ARGS...
  local name=$1 import=$2 venv=$CACHE/b3-$1-venv
  shift 2
  "$venv/bin/python" -c "import $import" 2>/dev/null && return 0
  [ -e "$venv.failed" ] && return 0
  echo "installing the B3 peer $name into $venv" >&2
  if ! { { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } && "$venv/bin/pip" install -q "$@"; } > "$venv.log" 2>&1 \
     || ! "$venv/bin/python" -c "import $import" >> "$venv.log" 2>&1; then
    tail -n 20 "$venv.log" > "$venv.failed"
    echo "B3 peer $name could not be installed: see $venv.failed" >&2
  fi
}

# pyrfr (SMAC3's random forest) has no wheel: its build runs swig, installed here when missing.
if ! "$CACHE/b3-smac-venv/bin/python" -c 'import smac' 2>/dev/null && [ ! -e "$CACHE/b3-smac-venv.failed" ] \
   && ! command -v swig >/dev/null; then
  echo "installing swig (apt) for SMAC3's pyrfr" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq swig; } >/dev/null 2>&1 || echo "swig could not be installed" >&2
fi
b3_venv smac smac 'smac==2.4.1' 'pyrfr==0.9.0' 'ConfigSpace==1.2.2' &
b3_venv hyperopt hyperopt 'hyperopt==0.3.0' &
# HEBO imports torch: read it from the project's torch venv (same Python) rather than a second copy.
HEBO=$CACHE/b3-hebo-venv
if ! "$HEBO/bin/python" -c 'import hebo' 2>/dev/null && [ ! -e "$HEBO.failed" ] && [ ! -x "$HEBO/bin/python" ]; then
  python3 -m venv "$HEBO" || true
  SITE=$("$HEBO/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' || true)
  TORCH_SITE=$(ls -d "$TORCH_VENV"/lib/python*/site-packages 2>/dev/null | head -n1 || true)
  if [ -n "$SITE" ] && [ -n "$TORCH_SITE" ] && [ "$(basename "$(dirname "$TORCH_SITE")")" = "$(basename "$(dirname "$SITE")")" ]; then
    echo "$TORCH_SITE" > "$SITE/hpflow-torch.pth"
  fi
fi
b3_venv hebo hebo --no-deps -r "$(dirname "${BASH_SOURCE[0]}")/b3-hebo-requirements.txt" &
wait
