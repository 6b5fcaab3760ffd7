#!/bin/sh
# model-canary-kfp: runs `model-canary <command> [flags]` as a Kubeflow Pipelines step (component.yaml).
#
#   model-canary-kfp <report-file> <verdict-file> <image-file> <command> [--flag value ...]
#
# The report JSON (`--output json`) goes to <report-file>, its verdict and deployed image (registry/repo@sha256:...)
# to the other two: KFP reads those as the step's outputs, also when the canary was rolled back, so the run shows why.
#
# Secrets stay out of the pipeline spec and the process list: the CLI reads MODEL_CANARY_<KEY> variables itself
# (MODEL_CANARY_REGISTRY_PASSWORD, MODEL_CANARY_MLFLOW_TOKEN, ...), set from a Kubernetes Secret, e.g. with
# kfp.kubernetes.use_secret_as_env.
#
# Exit code: the CLI's (0 promoted or planned, 1 error, 2 bad input, 3 rolled back, 4 inconclusive). With
# `--fail-on-rollback false` among the flags, the CLI itself exits 0 for 3 and 4 so the pipeline goes on and can branch
# on the verdict.
set -eu

if [ "$#" -lt 4 ]; then
  echo "usage: model-canary-kfp <report-file> <verdict-file> <image-file> <command> [--flag value ...]" >&2
  exit 2
fi
report_file=$1
verdict_file=$2
image_file=$3
shift 3

for file in "$report_file" "$verdict_file" "$image_file"; do mkdir -p "$(dirname "$file")"; done

set +e
model-canary "$@" --output json >"$report_file"
code=$?
set -e

# Verdict and image from the report; a run that stopped before it had a report (bad input, an error) is `failed`.
node -e '
const fs = require("node:fs");
const [reportFile, verdictFile, imageFile] = process.argv.slice(1);
let report = {};
try {
  report = JSON.parse(fs.readFileSync(reportFile, "utf8"));
} catch {
  fs.writeFileSync(reportFile, "{}\n");
}
fs.writeFileSync(verdictFile, String(report.verdict ?? "failed"));
fs.writeFileSync(imageFile, String(report.image ?? ""));
process.stderr.write(`model-canary-kfp: verdict ${report.verdict ?? "failed"} ${report.image ?? ""}\n`);
' "$report_file" "$verdict_file" "$image_file"

exit "$code"
