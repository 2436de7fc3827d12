"""A stand-in for the parts of Airflow the rlsf DAGs use, so deploy/airflow/check_dags.py can import the
DAGs where Airflow is not installed (CI, a laptop). It records DAGs, operators and their dependencies."""
import contextlib

DAGS = []
_current = []


class DAG(contextlib.AbstractContextManager):
    def __init__(self, dag_id, **kwargs):
        self.dag_id = dag_id
        self.kwargs = kwargs
        self.tasks = {}
        DAGS.append(self)

    def __enter__(self):
        _current.append(self)
        return self

    def __exit__(self, *exc):
        _current.pop()
        return False


class BaseOperator:
    def __init__(self, task_id, **kwargs):
        if not _current:
            raise RuntimeError(f"operator {task_id} created outside a DAG")
        self.dag = _current[-1]
        if task_id in self.dag.tasks:
            raise ValueError(f"duplicate task_id {task_id} in DAG {self.dag.dag_id}")
        self.task_id = task_id
        self.kwargs = kwargs
        self.upstream = set()
        self.dag.tasks[task_id] = self

    def __rshift__(self, other):
        other.upstream.add(self.task_id)
        return other
