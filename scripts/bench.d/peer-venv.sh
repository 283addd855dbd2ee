# Sourced by scripts/bench and scripts/bench-strategies: make sure the peers' venv
# ($VENV, default ${XDG_CACHE_HOME:-$HOME/.cache}/hpflow/bench-venv) has Optuna 5.0 (with scipy,
# and greenlet for GPSampler's batched L-BFGS-B) and rustuna 0.2. It reads torch from the
# project's cached torch venv through a .pth file rather than a second 4.7 GB copy
# (BENCH_INSTALL_TORCH=1 installs one where that venv has another Python).
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/hpflow
VENV=${VENV:-$CACHE/bench-venv}
TORCH_VENV=${TORCH_VENV:-$CACHE/torch-2.11.0}
PY=$VENV/bin/python
if ! "$PY" -c 'import optuna, scipy, rustuna' 2>/dev/null; then
  echo "installing the benchmark peers into $VENV" >&2
  [ -x "$PY" ] || python3 -m venv "$VENV"
  SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  TORCH_SITE=$(ls -d "$TORCH_VENV"/lib/python*/site-packages 2>/dev/null | head -n1 || true)
  if [ -n "$TORCH_SITE" ] && [ -d "$TORCH_SITE/torch" ] && \
     [ "$(basename "$(dirname "$TORCH_SITE")")" = "$(basename "$(dirname "$SITE")")" ]; then
    echo "$TORCH_SITE" > "$SITE/hpflow-torch.pth"
  elif [ "${BENCH_INSTALL_TORCH:-0}" = 1 ]; then
    "$VENV/bin/pip" install -q "torch==2.11.0"
  fi
  "$VENV/bin/pip" install -q 'optuna==5.0.0' scipy greenlet 'rustuna==0.2.0'
fi
