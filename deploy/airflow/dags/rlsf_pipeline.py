"""The RLSF main job as separate Spark stages: the one definition the Airflow DAGs and the spark-operator
manifests (deploy/k8s/operator/*.yaml) are made from.

Every stage is `org.rlsf.job.Main <command> <args>` on the cluster jar. RLSF_METHOD (dpo, the default;
ppo; both) picks the stages as run.method does for `rlsf run`. The stages write the same run
directory as `rlsf run` (<runs>/<run_id>/{corpus, checkpoints, traces, pairs, eval, report}), so
`rlsf report --run` and the notebooks read either. `--main-job-settings` gives each stage the settings
`rlsf run` uses (rlsf.run.overrides). deploy/airflow/check_dags.py checks this file, the DAGs and the
manifests; the Java test DeployFilesTest parses every command line with rlsf's own CLI, so a renamed
command or option fails the build.

    python3 deploy/airflow/dags/rlsf_pipeline.py --write-manifests deploy/k8s/operator
"""
import hashlib
import json
import os
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

# Which policies the pipeline trains, as rlsf run's run.method: dpo (rlsf run's default), ppo (RLSF-PPO: a reward model
# on the pairs, then PPO) or both. The DAGs read RLSF_METHOD; the manifests in deploy/k8s/operator cover every stage.
METHODS = ("dpo", "ppo", "both")
METHOD = os.environ.get("RLSF_METHOD", "dpo")
BASE = "{run}/checkpoints/base"
REWARD_MODEL = "{run}/checkpoints/reward-model/checkpoint"


def _evaluate(name, model, decoding, extra=()):
    return ["evaluate", "--main-job-settings", "--model", model, "--corpus", "{run}/corpus/heldout",
            "--decoding", decoding, "--name", name, "--out", "{run}/eval/" + name, *extra]


def stages(method):
    """(task id, rlsf command line with {run} = <runs>/<run_id> and {run_id}, upstream task ids) for a method.
    With PPO the reward model also scores the base's CoT-decoding branches (its AUROC against correctness in the
    report), so that evaluation waits for it."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    dpo, ppo = method in ("dpo", "both"), method in ("ppo", "both")
    out = [
        ("base", ["checkpoint", "--from", "builtin:base", "--out", BASE], []),
        ("corpus-prompts", ["corpus", "--task", TASKS, "--n", str(PROMPTS_PER_TASK), "--seed", str(SEED),
                            "--split", "train", "--out", "{run}/corpus/prompts"], []),
        ("corpus-heldout", ["corpus", "--task", TASKS, "--n", str(EVAL_PROBLEMS_PER_TASK), "--seed", str(EVAL_SEED),
                            "--split", "heldout", "--out", "{run}/corpus/heldout"], []),
        ("generate", ["generate", "--main-job-settings", "--model", BASE,
                      "--corpus", "{run}/corpus/prompts", "--out", "{run}/traces", "--run-id", "{run_id}"],
         ["base", "corpus-prompts"]),
        ("pairs", ["pairs", "--main-job-settings", "--traces", "{run}/traces", "--out", "{run}/pairs",
                   "--run-id", "{run_id}"], ["generate"]),
    ]
    evaluations = ["evaluate-base-greedy", "evaluate-base-cot-decoding"]
    if dpo:
        out.append(("train", ["train", "--main-job-settings", "--model", BASE, "--pairs", "{run}/pairs",
                              "--run-id", "{run_id}", "--out", "{run}/checkpoints/rlsf"], ["pairs"]))
    if ppo:
        out.append(("reward-model", ["reward-model", "--main-job-settings", "--model", BASE, "--pairs", "{run}/pairs",
                                     "--run-id", "{run_id}", "--out", "{run}/checkpoints/reward-model"], ["pairs"]))
        out.append(("ppo", ["ppo", "--main-job-settings", "--model", BASE, "--reward-model", REWARD_MODEL,
                            "--corpus", "{run}/corpus/prompts", "--out", "{run}/checkpoints/rlsf-ppo"],
                    ["reward-model", "corpus-prompts"]))
    out.append(("evaluate-base-greedy", _evaluate("base-greedy", BASE, "greedy"), ["base", "corpus-heldout"]))
    out.append(("evaluate-base-cot-decoding",
                _evaluate("base-cot-decoding", BASE, "cot-decoding", ["--reward-model", REWARD_MODEL] if ppo else []),
                ["base", "corpus-heldout"] + (["reward-model"] if ppo else [])))
    if dpo:
        out.append(("evaluate-rlsf-greedy", _evaluate("rlsf-greedy", "{run}/checkpoints/rlsf/checkpoint", "greedy"),
                    ["train", "corpus-heldout"]))
        evaluations.append("evaluate-rlsf-greedy")
    if ppo:
        out.append(("evaluate-rlsf-ppo-greedy",
                    _evaluate("rlsf-ppo-greedy", "{run}/checkpoints/rlsf-ppo/checkpoint", "greedy"),
                    ["ppo", "corpus-heldout"]))
        evaluations.append("evaluate-rlsf-ppo-greedy")
    out.append(("report", ["report", "--run", "{run}"], evaluations))
    return out


STAGES = stages(METHOD)
ALL_STAGES = stages("both")   # every stage there is: the manifests

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


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def k8s_name(task_id, rid):
    """A SparkApplication name for a stage of a run: a DNS-1123 label (lowercase letters, digits, '-', at most 63).
    Run ids may hold capitals, '_' and '.' and run to 128 characters: such an id is folded to fit and suffixed with
    8 hex digits of its sha256, so two ids never share a name."""
    name = f"rlsf-{task_id}-{rid}"
    if _DNS_LABEL.fullmatch(name):
        return name
    folded = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:54].rstrip("-")
    return f"{folded}-{_digest(rid)}"


def k8s_label(rid):
    """The run id as a Kubernetes label value (at most 63 characters, alphanumeric at both ends), folded like
    k8s_name when it is not one already."""
    if _LABEL_VALUE.fullmatch(rid):
        return rid
    folded = re.sub(r"[^A-Za-z0-9_.-]+", "-", rid)[:54].strip("-_.")
    return f"{folded}-{_digest(rid)}" if folded else _digest(rid)


# Airflow templates call these macros (every DAG passes user_defined_macros=MACROS).
MACROS = {"rlsf_run_id": run_id, "rlsf_k8s_name": k8s_name, "rlsf_k8s_label": k8s_label}
RUN_ID_TEMPLATE = "{{ rlsf_run_id(dag_run, ds_nodash) }}"
_RUN_ID_EXPR = "rlsf_run_id(dag_run, ds_nodash)"


def command(task_id, runs, run_id, stage_list=None):
    """The rlsf arguments of one stage (of STAGES unless stage_list is given), with the run directory filled in."""
    for tid, args, _ in (STAGES if stage_list is None else stage_list):
        if tid == task_id:
            run = runs.rstrip("/") + "/" + run_id
            return [a.format(run=run, run_id=run_id) for a in args]
    raise KeyError(task_id)


def upstream(task_id):
    return next(up for tid, _, up in STAGES if tid == task_id)


# Pods run as the image's spark user (uid 185), never root, without privilege escalation or capabilities, on a
# read-only root filesystem: the writable places are the data volume, Spark's local dirs (emptyDir volumes Spark
# adds) and /tmp (an emptyDir), where JavaCPP unpacks ND4J's native libraries.
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 185, "runAsGroup": 185, "fsGroup": 185,
                "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "privileged": False,
                      "capabilities": {"drop": ["ALL"]}}
JAVACPP_CACHE = "-Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp"


def spark_application(task_id, run_id, runs="/data/rlsf/runs", image="registry.example.com/rlsf:0.1.0",
                      executors=2, stage_list=None):
    """A spark-operator SparkApplication (sparkoperator.k8s.io/v1beta2) for one stage."""
    if run_id == RUN_ID_TEMPLATE:   # rendered by Airflow per DAG run: the same folding, as macros
        name = "{{ rlsf_k8s_name('" + task_id + "', " + _RUN_ID_EXPR + ") }}"
        label = "{{ rlsf_k8s_label(" + _RUN_ID_EXPR + ") }}"
    else:
        name, label = k8s_name(task_id, run_id), k8s_label(run_id)
    gpu = task_id in ("generate", "train", "reward-model", "ppo", "evaluate-base-greedy", "evaluate-base-cot-decoding",
                      "evaluate-rlsf-greedy", "evaluate-rlsf-ppo-greedy")
    volume_mount = [{"name": "rlsf-data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}]
    executor = {"cores": 1, "instances": executors, "memory": "4g", "memoryOverhead": "4g",
                "serviceAccount": "rlsf-spark", "volumeMounts": volume_mount,
                "podSecurityContext": POD_SECURITY, "securityContext": CONTAINER_SECURITY,
                "env": [{"name": "OMP_NUM_THREADS", "value": "1"}]}
    if gpu:
        executor["gpu"] = {"name": "nvidia.com/gpu", "quantity": 1}
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": name, "namespace": "rlsf",
                     "labels": {"app.kubernetes.io/name": "rlsf", "rlsf/stage": task_id, "rlsf/run-id": label}},
        "spec": {
            "type": "Java",
            "mode": "cluster",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "mainClass": MAIN_CLASS,
            "mainApplicationFile": JAR_IN_IMAGE,
            "arguments": command(task_id, runs, run_id, stage_list),
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
                "spark.driver.extraJavaOptions": "-Dorg.bytedeco.javacpp.maxbytes=4G -Dorg.bytedeco.javacpp.maxphysicalbytes=0 --add-modules=jdk.incubator.vector "
                                                 + JAVACPP_CACHE,
                "spark.executor.extraJavaOptions": "-Dorg.bytedeco.javacpp.maxbytes=3G -Dorg.bytedeco.javacpp.maxphysicalbytes=0 --add-modules=jdk.incubator.vector "
                                                   + JAVACPP_CACHE,
            },
            "volumes": [{"name": "rlsf-data", "persistentVolumeClaim": {"claimName": "rlsf-data"}},
                        {"name": "tmp", "emptyDir": {}}],
            "driver": {"cores": 1, "memory": "4g", "memoryOverhead": "2g", "serviceAccount": "rlsf-spark",
                       "volumeMounts": volume_mount,
                       "podSecurityContext": POD_SECURITY, "securityContext": CONTAINER_SECURITY,
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
            + to_yaml(spark_application(task_id, MANIFEST_RUN_ID, stage_list=ALL_STAGES)) + "\n")


def manifest_files():
    return {f"{i:02d}-{tid}.yaml": manifest_text(tid) for i, (tid, _, _) in enumerate(ALL_STAGES, start=1)}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-manifests":
        out = Path(sys.argv[2])
        for name, text in manifest_files().items():
            (out / name).write_text(text)
            print(out / name)
    else:
        print(__doc__)
        sys.exit(2)
