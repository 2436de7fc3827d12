"""The RLSF main job as separate Spark stages: the one definition the Airflow DAGs and the spark-operator
manifests (deploy/k8s/operator/*.yaml) are made from.

Every stage is `org.rlsf.job.Main <command> <args>` on the cluster jar. The stages write the same run
directory as `rlsf run` (<runs>/<run_id>/{corpus, checkpoints, traces, pairs, eval, report}), so
`rlsf report --run` and the notebooks read either. `--main-job-settings` gives each stage the settings
`rlsf run` uses (rlsf.run.overrides). deploy/airflow/check_dags.py checks this file, the DAGs and the
manifests; the Java test DeployFilesTest parses every command line with rlsf's own CLI, so a renamed
command or option fails the build.

    python3 deploy/airflow/dags/rlsf_pipeline.py --write-manifests deploy/k8s/operator
"""
import json
import re
import sys
from pathlib import Path

MAIN_CLASS = "org.rlsf.job.Main"
JAR_IN_IMAGE = "local:///opt/rlsf/rlsf.jar"
SPARK_VERSION = "3.5.1"
# Per task: problems per built-in task, seeds as in reference.conf (rlsf.run.*)
PROMPTS_PER_TASK = 300
EVAL_PROBLEMS_PER_TASK = 300
TASKS = "arith,mcq"
SEED = 1
EVAL_SEED = 11

# (task id, rlsf command line with {run} = <runs>/<run_id> and {run_id}, upstream task ids)
STAGES = [
    ("base", ["checkpoint", "--from", "builtin:base", "--out", "{run}/checkpoints/base"], []),
    ("corpus-prompts", ["corpus", "--task", TASKS, "--n", str(PROMPTS_PER_TASK), "--seed", str(SEED),
                        "--split", "train", "--out", "{run}/corpus/prompts"], []),
    ("corpus-heldout", ["corpus", "--task", TASKS, "--n", str(EVAL_PROBLEMS_PER_TASK), "--seed", str(EVAL_SEED),
                        "--split", "heldout", "--out", "{run}/corpus/heldout"], []),
    ("generate", ["generate", "--main-job-settings", "--model", "{run}/checkpoints/base",
                  "--corpus", "{run}/corpus/prompts", "--out", "{run}/traces", "--run-id", "{run_id}"],
     ["base", "corpus-prompts"]),
    ("pairs", ["pairs", "--main-job-settings", "--traces", "{run}/traces", "--out", "{run}/pairs",
               "--run-id", "{run_id}"], ["generate"]),
    ("train", ["train", "--main-job-settings", "--model", "{run}/checkpoints/base", "--pairs", "{run}/pairs",
               "--run-id", "{run_id}", "--out", "{run}/checkpoints/rlsf"], ["pairs"]),
    ("evaluate-base-greedy", ["evaluate", "--main-job-settings", "--model", "{run}/checkpoints/base",
                              "--corpus", "{run}/corpus/heldout", "--decoding", "greedy", "--name", "base-greedy",
                              "--out", "{run}/eval/base-greedy"], ["base", "corpus-heldout"]),
    ("evaluate-base-cot-decoding", ["evaluate", "--main-job-settings", "--model", "{run}/checkpoints/base",
                                    "--corpus", "{run}/corpus/heldout", "--decoding", "cot-decoding",
                                    "--name", "base-cot-decoding", "--out", "{run}/eval/base-cot-decoding"],
     ["base", "corpus-heldout"]),
    ("evaluate-rlsf-greedy", ["evaluate", "--main-job-settings", "--model", "{run}/checkpoints/rlsf/checkpoint",
                              "--corpus", "{run}/corpus/heldout", "--decoding", "greedy", "--name", "rlsf-greedy",
                              "--out", "{run}/eval/rlsf-greedy"], ["train", "corpus-heldout"]),
    ("report", ["report", "--run", "{run}"],
     ["evaluate-base-greedy", "evaluate-base-cot-decoding", "evaluate-rlsf-greedy"]),
]

# Run ids: rlsf's one rule (org.rlsf.config.RunIds). The id becomes a directory name, a partition value and part of
# the Kubernetes DAG's JSON, so an id outside the rule ("../x", "a#b", a quote) must fail the task, not run.
RUN_ID_RULE = "letters, digits, '-', '_' and '.', not starting with '.', at most 128 characters"
_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def run_id(dag_run, ds_nodash):
    """The run id of a DAG run: dag_run.conf["run_id"] when it was triggered with one, else rlsf-<ds>, so a rerun of
    the same logical date resumes the same run (each stage skips or resumes finished work). Raises ValueError for an
    id outside the rule: the task fails while its template renders, before anything is submitted."""
    conf = (getattr(dag_run, "conf", None) or {}) if dag_run else {}
    rid = conf.get("run_id", "rlsf-" + ds_nodash)
    if not isinstance(rid, str) or not _RUN_ID.fullmatch(rid):
        raise ValueError(f"invalid run id {rid!r}: use {RUN_ID_RULE}")
    return rid


# Airflow templates call run_id through this macro (every DAG passes user_defined_macros=MACROS).
MACROS = {"rlsf_run_id": run_id}
RUN_ID_TEMPLATE = "{{ rlsf_run_id(dag_run, ds_nodash) }}"


def command(task_id, runs, run_id):
    """The rlsf arguments of one stage, with the run directory filled in."""
    for tid, args, _ in STAGES:
        if tid == task_id:
            run = runs.rstrip("/") + "/" + run_id
            return [a.format(run=run, run_id=run_id) for a in args]
    raise KeyError(task_id)


def upstream(task_id):
    return next(up for tid, _, up in STAGES if tid == task_id)


def spark_application(task_id, run_id, runs="/data/rlsf/runs", image="registry.example.com/rlsf:0.1.0",
                      executors=2):
    """A spark-operator SparkApplication (sparkoperator.k8s.io/v1beta2) for one stage."""
    gpu = task_id in ("generate", "train", "evaluate-base-greedy", "evaluate-base-cot-decoding",
                      "evaluate-rlsf-greedy")
    volume_mount = [{"name": "rlsf-data", "mountPath": "/data"}]
    executor = {"cores": 1, "instances": executors, "memory": "4g", "memoryOverhead": "4g",
                "serviceAccount": "rlsf-spark", "volumeMounts": volume_mount,
                "env": [{"name": "OMP_NUM_THREADS", "value": "1"}]}
    if gpu:
        executor["gpu"] = {"name": "nvidia.com/gpu", "quantity": 1}
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": "rlsf-" + task_id + "-" + run_id, "namespace": "rlsf",
                     "labels": {"app.kubernetes.io/name": "rlsf", "rlsf/stage": task_id, "rlsf/run-id": run_id}},
        "spec": {
            "type": "Java",
            "mode": "cluster",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "mainClass": MAIN_CLASS,
            "mainApplicationFile": JAR_IN_IMAGE,
            "arguments": command(task_id, runs, run_id),
            "sparkVersion": SPARK_VERSION,
            "restartPolicy": {"type": "Never"},
            "sparkConf": {
                "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
                "spark.kryo.registrator": "org.nd4j.kryo.Nd4jRegistrator,org.rlsf.io.KryoRecords",
                "spark.speculation": "false",
                "spark.sql.parquet.compression.codec": "zstd",
                "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
                "spark.sql.session.timeZone": "UTC",
                "spark.eventLog.enabled": "true",
                "spark.eventLog.dir": "file:///data/spark-events",
                "spark.driver.extraJavaOptions": "-Dorg.bytedeco.javacpp.maxbytes=4G -Dorg.bytedeco.javacpp.maxphysicalbytes=0",
                "spark.executor.extraJavaOptions": "-Dorg.bytedeco.javacpp.maxbytes=3G -Dorg.bytedeco.javacpp.maxphysicalbytes=0",
            },
            "volumes": [{"name": "rlsf-data", "persistentVolumeClaim": {"claimName": "rlsf-data"}}],
            "driver": {"cores": 1, "memory": "4g", "memoryOverhead": "2g", "serviceAccount": "rlsf-spark",
                       "volumeMounts": volume_mount,
                       "env": [{"name": "RLSF_ENV", "value": "k8s"}, {"name": "OMP_NUM_THREADS", "value": "1"}]},
            "executor": executor,
        },
    }


def to_yaml(value, indent=0):
    """A small YAML writer for the manifests (dicts, lists, strings, numbers); stdlib only."""
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.append(to_yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                body = to_yaml(v, indent + 1).split("\n")
                lines.append(f"{pad}- {body[0].strip()}")
                lines.extend(body[1:])
            else:
                lines.append(f"{pad}- {_scalar(v)}")
    return "\n".join(lines)


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))   # a double-quoted YAML scalar


MANIFEST_RUN_ID = "example"


def manifest_text(task_id):
    return ("# Generated by deploy/airflow/dags/rlsf_pipeline.py --write-manifests; do not edit by hand.\n"
            f"# Stage '{task_id}' of the RLSF main job for run id '{MANIFEST_RUN_ID}' (change metadata.name and the\n"
            "# run id in arguments for another run): kubectl apply -f this file\n---\n"
            + to_yaml(spark_application(task_id, MANIFEST_RUN_ID)) + "\n")


def manifest_files():
    return {f"{i:02d}-{tid}.yaml": manifest_text(tid) for i, (tid, _, _) in enumerate(STAGES, start=1)}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-manifests":
        out = Path(sys.argv[2])
        for name, text in manifest_files().items():
            (out / name).write_text(text)
            print(out / name)
    else:
        print(__doc__)
        sys.exit(2)
