#!/usr/bin/env python3
"""Checks the Airflow DAGs and the spark-operator manifests without Airflow (stdlib only):

1. every DAG file compiles (py_compile);
2. its DAG(...) call sets max_active_runs=1 and catchup=False, every operator call has a task_id (ast);
3. it imports against the stub airflow package (deploy/airflow/stubs): task ids are unique, dependencies
   form an acyclic graph that starts at the pipeline's first stages and ends at report;
4. deploy/k8s/operator/*.yaml are exactly what rlsf_pipeline.py generates (no hand edits, none missing);
5. RLSF_METHOD picks the DAGs' stages (dpo, ppo, both: the checks run on the method in the environment);
6. it prints every rlsf command line as JSON ({"commands": [{"where", "java_class", "args"}]}) with the run-id
   template filled in, for the Java test DeployFilesTest to parse with rlsf's own CLI.
Exit status 1 with the reasons on stderr when anything is off.
"""
import ast
import importlib
import json
import py_compile
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DAGS = HERE / "dags"
MANIFESTS = ROOT / "deploy" / "k8s" / "operator"
SAMPLE_RUN_ID = "rlsf-20260101"

problems = []


def check_ast(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    dag_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "DAG"]
    if len(dag_calls) != 1:
        problems.append(f"{path.name}: expected one DAG(...) call, found {len(dag_calls)}")
        return
    kw = {k.arg: k.value for k in dag_calls[0].keywords}
    macros = kw.get("user_defined_macros")
    if not (isinstance(macros, ast.Attribute) and macros.attr == "MACROS"):
        problems.append(f"{path.name}: DAG must set user_defined_macros=pipeline.MACROS (the checked run id)")
    for name, want in (("max_active_runs", 1), ("catchup", False)):
        v = kw.get(name)
        if not (isinstance(v, ast.Constant) and type(v.value) is type(want) and v.value == want):
            problems.append(f"{path.name}: DAG must set {name}={want!r}")
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and getattr(n.func, "id", "").endswith("Operator"):
            if "task_id" not in {k.arg for k in n.keywords}:
                problems.append(f"{path.name}:{n.lineno}: {n.func.id} without task_id")


def main():
    sys.dont_write_bytecode = True
    sys.path[:0] = [str(HERE / "stubs"), str(DAGS)]
    airflow = importlib.import_module("airflow")
    pipeline = importlib.import_module("rlsf_pipeline")
    commands = []
    check_run_ids(pipeline)
    check_methods(pipeline)
    dag_files = sorted(p for p in DAGS.glob("*.py") if p.name != "rlsf_pipeline.py")
    if not dag_files:
        problems.append("no DAG files in " + str(DAGS))
    for path in [DAGS / "rlsf_pipeline.py"] + dag_files:
        try:
            py_compile.compile(str(path), doraise=True, cfile=str(Path("/tmp") / (path.stem + ".pyc")))
        except py_compile.PyCompileError as e:
            problems.append(f"{path.name}: does not compile: {e.msg}")
    for path in dag_files:
        check_ast(path)
        before = len(airflow.DAGS)
        importlib.import_module(path.stem)
        for dag in airflow.DAGS[before:]:
            check_graph(dag, pipeline)
            for task in dag.tasks.values():
                commands.append(command_of(dag, task, pipeline))
    # the manifests
    expected = pipeline.manifest_files()
    present = {p.name for p in MANIFESTS.glob("*.yaml")}
    for name, text in expected.items():
        p = MANIFESTS / name
        if not p.exists():
            problems.append(f"{p}: missing; run rlsf_pipeline.py --write-manifests {MANIFESTS.relative_to(ROOT)}")
        elif p.read_text() != text:
            problems.append(f"{p}: differs from what rlsf_pipeline.py generates (edit the pipeline, then regenerate)")
    for name in sorted(present - set(expected)):
        problems.append(f"{MANIFESTS / name}: not a stage of rlsf_pipeline.py")
    for tid, _, _ in pipeline.ALL_STAGES:
        app = pipeline.spark_application(tid, pipeline.MANIFEST_RUN_ID, stage_list=pipeline.ALL_STAGES)
        commands.append({"where": f"deploy/k8s/operator ({tid})", "java_class": app["spec"]["mainClass"],
                         "args": app["spec"]["arguments"]})
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(json.dumps({"commands": commands}, indent=1))
    return 0


class _DagRun:
    def __init__(self, conf):
        self.conf = conf


def check_methods(pipeline):
    """Each method's stages: DPO's train and PPO's reward model only where the method trains them, one report."""
    for method, has, lacks in (("dpo", {"train"}, {"reward-model", "ppo"}), ("ppo", {"reward-model", "ppo"}, {"train"}),
                               ("both", {"train", "reward-model", "ppo"}, set())):
        ids = [tid for tid, _, _ in pipeline.stages(method)]
        if not has <= set(ids) or lacks & set(ids) or ids[-1] != "report" or len(ids) != len(set(ids)):
            problems.append(f"rlsf_pipeline.stages({method!r}): unexpected stages {ids}")
    try:
        pipeline.stages("dpo+ppo")
        problems.append("rlsf_pipeline.stages accepts an unknown method")
    except ValueError:
        pass


def check_run_ids(pipeline):
    """The DAGs' run ids follow rlsf's rule (RunIdsTest checks the same ids on the Java side)."""
    for ok in ("rlsf-20260101", "a.b_c-1", "R1"):
        if pipeline.run_id(_DagRun({"run_id": ok}), "20260101") != ok:
            problems.append(f"rlsf_pipeline.run_id refuses the valid id {ok!r}")
    if pipeline.run_id(None, "20260101") != SAMPLE_RUN_ID or pipeline.run_id(_DagRun({}), "20260101") != SAMPLE_RUN_ID:
        problems.append("rlsf_pipeline.run_id: the default id is not rlsf-<ds>")
    import re
    dns = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
    label = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
    names = set()
    for ok in ("rlsf-20260101", "a.b_c-1", "R1", "_x", "-y", "A" * 128, "A" * 127 + "B"):
        for task in ("evaluate-base-cot-decoding", "report"):
            name = pipeline.k8s_name(task, ok)
            if not dns.fullmatch(name):
                problems.append(f"rlsf_pipeline.k8s_name({task!r}, {ok!r}) = {name!r} is not a DNS-1123 label")
            names.add(name)
        if not label.fullmatch(pipeline.k8s_label(ok)):
            problems.append(f"rlsf_pipeline.k8s_label({ok!r}) = {pipeline.k8s_label(ok)!r} is not a label value")
    if len(names) != 14:
        problems.append("rlsf_pipeline.k8s_name gives two run ids the same name")
    for bad in ("../x", "a/b", "a#b", '"', "", ".hidden", 'x", "spec": {', 7):
        try:
            pipeline.run_id(_DagRun({"run_id": bad}), "20260101")
            problems.append(f"rlsf_pipeline.run_id accepts the invalid id {bad!r}")
        except ValueError:
            pass


def check_graph(dag, pipeline):
    ids = set(dag.tasks)
    stages = {tid for tid, _, _ in pipeline.STAGES}
    if ids != stages:
        problems.append(f"DAG {dag.dag_id}: tasks {sorted(ids)} are not the pipeline's stages {sorted(stages)}")
    for task in dag.tasks.values():
        if task.upstream != set(pipeline.upstream(task.task_id)):
            problems.append(f"DAG {dag.dag_id}: {task.task_id} depends on {sorted(task.upstream)}, "
                            f"the pipeline says {pipeline.upstream(task.task_id)}")
    # acyclic: repeatedly remove tasks whose upstream is done
    done, pending = set(), dict((t.task_id, set(t.upstream)) for t in dag.tasks.values())
    while pending:
        ready = [t for t, up in pending.items() if up <= done]
        if not ready:
            problems.append(f"DAG {dag.dag_id}: dependency cycle among {sorted(pending)}")
            return
        for t in ready:
            done.add(t)
            del pending[t]
    sinks = [t for t in dag.tasks if not any(t in o.upstream for o in dag.tasks.values())]
    if sinks != ["report"]:
        problems.append(f"DAG {dag.dag_id}: should end at report, ends at {sinks}")


def command_of(dag, task, pipeline):
    kw = task.kwargs
    if "application_file" in kw:
        app = json.loads(kw["application_file"])
        java_class, args = app["spec"]["mainClass"], app["spec"]["arguments"]
        if app["apiVersion"] != "sparkoperator.k8s.io/v1beta2" or app["kind"] != "SparkApplication":
            problems.append(f"DAG {dag.dag_id}: {task.task_id} is not a v1beta2 SparkApplication")
        if app["spec"]["restartPolicy"]["type"] != "Never":
            problems.append(f"DAG {dag.dag_id}: {task.task_id}: restartPolicy must be Never (Airflow retries)")
    else:
        java_class, args = kw.get("java_class"), list(kw.get("application_args", []))
    args = [a.replace(pipeline.RUN_ID_TEMPLATE, SAMPLE_RUN_ID) for a in args]
    leftover = [a for a in args if "{{" in a or "{run" in a]
    if leftover:
        problems.append(f"DAG {dag.dag_id}: {task.task_id}: unrendered placeholders {leftover}")
    return {"where": f"{dag.dag_id}.{task.task_id}", "java_class": java_class, "args": args}


if __name__ == "__main__":
    sys.exit(main())
