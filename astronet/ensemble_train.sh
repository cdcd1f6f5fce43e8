#!/bin/bash
# Trains an ensemble of Astronet models that differ only in their random seed
# (initial weights, shuffling, reversal); batch_predict.py --average and
# find_incorrect.py --average then average their predictions.
#
#   astronet/ensemble_train.sh MODEL_DIR NUM_STEPS TFRECORD_DIR
#
# writes MODEL_DIR/model_1 ... MODEL_DIR/model_${NUM_MODELS:-10}, member i with
# --seed=$((SEED_BASE + i)) (SEED_BASE defaults to 0). Re-running the script
# resumes every member from its last checkpoint and skips finished ones.
# Extra train.py flags can be passed in TRAIN_FLAGS, e.g.
#   TRAIN_FLAGS="--config_overrides={\"hparams\":{\"batch_size\":128}}"
# TOGETHER=1 trains all members at once as one Keras model (train_ensemble.py;
# same directories and seeds, one process: faster on a GPU, and on a CPU with
# TRAIN_FLAGS="--intra_op_threads=1 --inter_op_threads=2").
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 MODEL_DIR NUM_STEPS TFRECORD_DIR" >&2
  exit 2
fi
dir=$1
steps=$2
tfrecord_dir=$3
num_models=${NUM_MODELS:-10}
seed_base=${SEED_BASE:-0}
python=${PYTHON:-python}
here=$(cd "$(dirname "$0")" && pwd)

if ! compgen -G "$tfrecord_dir/train*" > /dev/null; then
  echo "$0: no training records $tfrecord_dir/train*" >&2
  exit 2
fi
mkdir -p "$dir"

if [ "${TOGETHER:-0}" = 1 ]; then
  # shellcheck disable=SC2086
  exec "$python" "$here/train_ensemble.py" \
    --model=AstroCNNModel \
    --config_name=local_global \
    --train_files="$tfrecord_dir/train*" \
    --eval_files="$tfrecord_dir/val*" \
    --model_dir="$dir" \
    --train_steps="$steps" \
    --num_models="$num_models" \
    --seed_base="$seed_base" \
    ${TRAIN_FLAGS:-}
fi

for i in $(seq 1 "$num_models"); do
  model_dir="$dir/model_$i"
  echo "Training model $i of $num_models in $model_dir"
  # shellcheck disable=SC2086
  "$python" "$here/train.py" \
    --model=AstroCNNModel \
    --config_name=local_global \
    --train_files="$tfrecord_dir/train*" \
    --eval_files="$tfrecord_dir/val*" \
    --model_dir="$model_dir" \
    --train_steps="$steps" \
    --seed=$((seed_base + i)) \
    ${TRAIN_FLAGS:-}
done
