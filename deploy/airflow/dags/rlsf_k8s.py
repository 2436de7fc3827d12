"""RLSF main job on Kubernetes through the spark-operator: one SparkKubernetesOperator per stage
(apache-airflow-providers-cncf-kubernetes), each submitting the SparkApplication that
deploy/k8s/operator/NN-<stage>.yaml shows, for this DAG run's run id.

Needs an Airflow connection `kubernetes_default` to the cluster, the spark-operator installed, and
deploy/k8s/rbac.yaml applied. Trigger with {"run_id": "..."} to name a run; otherwise the run id is
rlsf-<ds>. Rerunning a run id resumes it.
"""
import json
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.spark_kubernetes import SparkKubernetesOperator

import rlsf_pipeline as pipeline

IMAGE = os.environ.get("RLSF_IMAGE", "registry.example.com/rlsf:0.1.0")
RUNS = os.environ.get("RLSF_RUNS", "/data/rlsf/runs")

with DAG(
    dag_id="rlsf_k8s",
    description="RLSF: generate -> pairs -> DPO and/or reward model + PPO (RLSF_METHOD) -> evaluate -> report on Kubernetes (spark-operator)",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    user_defined_macros=pipeline.MACROS,   # rlsf_run_id: the run id, checked
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "owner": "rlsf"},
    tags=["rlsf", "spark", "kubernetes"],
) as dag:
    tasks = {}
    for task_id, _, _ in pipeline.STAGES:
        app = pipeline.spark_application(task_id, pipeline.RUN_ID_TEMPLATE, runs=RUNS, image=IMAGE)
        # SparkApplication names must be DNS-1123 labels: rlsf_k8s_name folds the rendered run id into one
        # (lowercase, '-', at most 63 characters, a hash suffix when folded), rlsf_k8s_label the label value
        tasks[task_id] = SparkKubernetesOperator(
            task_id=task_id,
            namespace="rlsf",
            kubernetes_conn_id="kubernetes_default",
            application_file=json.dumps(app),
            delete_on_termination=True,
        )
    for task_id, _, upstream in pipeline.STAGES:
        for up in upstream:
            tasks[up] >> tasks[task_id]
