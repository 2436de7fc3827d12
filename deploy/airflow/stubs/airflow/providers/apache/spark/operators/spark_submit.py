from airflow import BaseOperator


class SparkSubmitOperator(BaseOperator):
    """Stub: keeps application, java_class and application_args for the checker."""
