#!/usr/bin/env bash
# scripts/train-builtin.sh: the recipe of libmos's built-in supernet (docs/builtin.md).
# Trains a `small` neuron-routed MoS supernet on the built-in English-Spanish Bible corpus
# (en -> es) with libmos's own trainer, keeping a checkpoint every 250 updates, exports the
# last (or the mean of the last AVERAGE) as BF16, measures it on the 1,000 test verses
# (beam 5, largest and smallest subnets) and writes the manifest beside it.
#
#   scripts/train-builtin.sh [WORK_DIR]        (default: builtin-run; resumable)
#
# Environment: MOS_CLI (default build/tools/mos-cli/mos-cli), STEPS (updates, a multiple of
# 250, default 4000), AVERAGE (last checkpoints averaged, default 1: see docs/builtin.md),
# THREADS (0 = all cores).
# Killed or stopped, it resumes exactly from WORK_DIR/net.safetensors.
# Ship the result by copying WORK_DIR/bible-en-es/ over data/builtin/bible-en-es/.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-builtin-run}
CLI=${MOS_CLI:-build/tools/mos-cli/mos-cli}
STEPS=${STEPS:-4000}
AVERAGE=${AVERAGE:-1}
THREADS=${THREADS:-0}
EVERY=250
DATA=data/bible-en-es
NAME=bible-en-es
[ -x "$CLI" ] || { echo "train-builtin: $CLI not found; build first (meson setup build && meson compile -C build)" >&2; exit 2; }
mkdir -p "$WORK/$NAME"

RECIPE="mos-cli train --data $DATA --src en --tgt es --space small --routing neuron --experts 2 --vocab 8000 \
--max-tokens 4096 --lr 7e-4 --warmup 500 --dropout 0.3 --sampling sandwich --seed 1 --valid-every 250 \
--max-steps $STEPS --out net.safetensors"

# 1. Train in pieces of EVERY updates (a resume continues exactly), keeping each checkpoint.
mkdir -p "$WORK/checkpoints"
[ -f "$WORK/checkpoints/step-$STEPS.safetensors" ] ||
for ((target = EVERY; target <= STEPS; target += EVERY)); do
  [ -f "$WORK/checkpoints/step-$target.safetensors" ] && continue
  if [ -f "$WORK/net.safetensors" ]; then
    "$CLI" train --data $DATA --src en --tgt es --max-steps "$target" --valid-every $EVERY --threads "$THREADS" \
      --out "$WORK/net.safetensors" --resume "$WORK/net.safetensors"
  else
    git rev-parse HEAD > "$WORK/trained-from-commit.txt" 2>/dev/null || echo unknown > "$WORK/trained-from-commit.txt"
    "$CLI" train --data $DATA --src en --tgt es --space small --routing neuron --experts 2 --vocab 8000 \
      --max-tokens 4096 --lr 7e-4 --warmup 500 --dropout 0.3 --sampling sandwich --seed 1 --valid-every $EVERY \
      --max-steps "$target" --threads "$THREADS" --out "$WORK/net.safetensors"
  fi
  cp "$WORK/net.safetensors" "$WORK/checkpoints/step-$target.safetensors"
done

# 2. The mean of the last AVERAGE checkpoints, weights only, stored as BF16 (loads as f32).
OUT="$WORK/$NAME/supernet.safetensors"
LAST=()
for ((k = AVERAGE - 1; k >= 0; k--)); do
  s=$((STEPS - k * EVERY))
  [ "$s" -ge "$EVERY" ] && LAST+=("$WORK/checkpoints/step-$s.safetensors")
done
[ "$OUT" -nt "${LAST[-1]}" ] || "$CLI" supernet average --dtype bf16 --out "$OUT" "${LAST[@]}"
if [ "${#LAST[@]}" -gt 1 ]; then
  AVERAGED="mean of ${#LAST[@]} checkpoints, updates $(( STEPS - (${#LAST[@]} - 1) * EVERY ))..$STEPS every $EVERY"
else
  AVERAGED="none: the checkpoint of update $STEPS"
fi

# 3. Quality of the shipped file, as a user measures it.
for a in largest smallest; do
  [ "$WORK/eval-$a.json" -nt "$OUT" ] && continue  # measured already
  echo "train-builtin: evaluating the $a subnet on the test verses (beam 5)" >&2
  "$CLI" eval --supernet "$OUT" --arch $a --data $DATA --src en --tgt es --split test --beam 5 --threads "$THREADS" --json > "$WORK/eval-$a.json"
done
# What capi_builtin checks on every test run: the smallest subnet on the first 50 test verses.
"$CLI" eval --supernet "$OUT" --arch smallest --data $DATA --src en --tgt es --split test --beam 5 \
  --max-sentences 50 --threads "$THREADS" --json > "$WORK/eval-check.json"

# 4. The manifest: what the file is, how it was made, what it measures.
COMMIT=$(cat "$WORK/trained-from-commit.txt" 2>/dev/null || echo unknown)
CPU="$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
python3 - "$WORK" "$NAME" "$OUT" "$RECIPE" "$COMMIT" "$STEPS" "$AVERAGED" "$CPU" <<'PY'
import hashlib, json, os, sys
work, name, out, recipe, commit, steps, averaged, cpu = sys.argv[1:9]
check = json.load(open(os.path.join(work, "eval-check.json")))
ev = {a: json.load(open(os.path.join(work, f"eval-{a}.json"))) for a in ("largest", "smallest")}
m = {
    "format": "mos-builtin-manifest",
    "version": 1,
    "name": name,
    "file": os.path.basename(out),
    "sha256": hashlib.sha256(open(out, "rb").read()).hexdigest(),
    "bytes": os.path.getsize(out),
    "weights": "bf16",
    "corpus": "data/bible-en-es",
    "src_lang": "en",
    "tgt_lang": "es",
    "recipe": recipe,
    "updates": int(steps),
    "averaged": averaged,
    "commit": commit,
    "trained_on": cpu,
    "quality": {
        "split": "test",
        "beam": 5,
        **{a: {"sentences": e["sentences"], "bleu": round(e["bleu"], 2), "loss": round(e["loss"], 4),
               "nll": round(e["nll"], 4)} for a, e in ev.items()},
    },
    "check": {"arch": "smallest", "split": "test", "sentences": check["sentences"], "beam": 5,
              "bleu": round(check["bleu"], 2)},
}
with open(os.path.join(work, name, "manifest.json"), "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
print(json.dumps(m["quality"], indent=2))
PY
echo "train-builtin: wrote $WORK/$NAME/ (copy it over data/builtin/$NAME/ to ship it)" >&2
