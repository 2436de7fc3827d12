"""RLSF main job on YARN, one SparkSubmitOperator per stage (apache-airflow-providers-apache-spark).

Needs an Airflow connection `spark_yarn` (conn type spark, host `yarn`, extra {"deploy-mode": "cluster",
"spark-binary": "spark-submit"}) on a worker with HADOOP_CONF_DIR set, and the cluster jar at RLSF_JAR.
Spark settings: the same as deploy/yarn/rlsf-submit (deploy/common/spark-defaults.conf + rlsf-yarn.properties).
Trigger with {"run_id": "..."} to name a run; otherwise the run id is rlsf-<ds>. Rerunning a run id resumes it.
"""
import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

import rlsf_pipeline as pipeline

RLSF_JAR = os.environ.get("RLSF_JAR", "/opt/rlsf/rlsf-cluster.jar")
RUNS = os.environ.get("RLSF_RUNS", "hdfs:///rlsf/runs")
DEPLOY = os.environ.get("RLSF_DEPLOY", "/opt/rlsf/deploy")


def spark_conf():
    """deploy/common/spark-defaults.conf then deploy/yarn/rlsf-yarn.properties, as rlsf-submit merges them."""
    conf = {}
    for path in (f"{DEPLOY}/common/spark-defaults.conf", f"{DEPLOY}/yarn/rlsf-yarn.properties"):
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        key, _, value = line.partition(" ")
                        conf[key] = value.strip()
    conf.pop("spark.master", None)
    conf.pop("spark.submit.deployMode", None)
    return conf


with DAG(
    dag_id="rlsf_yarn",
    description="RLSF: generate -> pairs -> DPO and/or reward model + PPO (RLSF_METHOD) -> evaluate -> report on YARN",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    user_defined_macros=pipeline.MACROS,   # rlsf_run_id: the run id, checked
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "owner": "rlsf"},
    tags=["rlsf", "spark", "yarn"],
) as dag:
    tasks = {}
    for task_id, _, _ in pipeline.STAGES:
        tasks[task_id] = SparkSubmitOperator(
            task_id=task_id,
            conn_id="spark_yarn",
            application=RLSF_JAR,
            java_class=pipeline.MAIN_CLASS,
            application_args=pipeline.command(task_id, RUNS, pipeline.RUN_ID_TEMPLATE),
            conf=spark_conf(),
            files=f"{DEPLOY}/../conf/yarn.conf",
            name=f"rlsf-{task_id}",
        )
    for task_id, _, upstream in pipeline.STAGES:
        for up in upstream:
            tasks[up] >> tasks[task_id]
