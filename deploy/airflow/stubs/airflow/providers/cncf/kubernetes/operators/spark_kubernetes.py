from airflow import BaseOperator


class SparkKubernetesOperator(BaseOperator):
    """Stub: keeps application_file (a SparkApplication as YAML/JSON text) for the checker."""
