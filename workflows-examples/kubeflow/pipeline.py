"""Train, register, then roll the model out with model-canary: a Kubeflow Pipelines (KFP v2) example.

    pip install 'kfp==2.17.*' 'kfp-kubernetes==2.17.*'
    python pipeline.py            # writes pipeline.yaml; upload it in the KFP UI or with kfp.Client()

The train step is a placeholder for your own: it only has to return the registered model's URI (here MLflow's
models:/<name>/<version>; an https Azure Blob SAS URL, an oci:// artifact or azureml:<name>:<version> work the same).
"""

from pathlib import Path

from kfp import compiler, components, dsl, kubernetes

deploy_op = components.load_component_from_file(str(Path(__file__).with_name("component.yaml")))


@dsl.component(base_image="python:3.12-slim", packages_to_install=["scikit-learn==1.5.2", "mlflow==2.22.1"])
def train(model_name: str, mlflow_tracking_uri: str) -> str:
    """Placeholder training: fits a small classifier and registers it in MLflow; returns models:/<name>/<version>."""
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(mlflow_tracking_uri)
    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, artifact_path="model", registered_model_name=model_name)
    return f"models:/{model_name}/{info.registered_model_version}"


@dsl.container_component
def fetch_manifests(repo: str, ref: str, path: str, manifests: dsl.Output[dsl.Artifact]):
    """The model's Kubernetes manifests from git (the same files the GitHub workflows deploy)."""
    return dsl.ContainerSpec(
        image="docker.io/alpine/git:2.47.2",
        command=["sh", "-ec"],
        args=[
            'git clone --quiet --depth 1 --branch "$1" "$0" /tmp/repo && mkdir -p "$3" && cp -R "/tmp/repo/$2/." "$3"',
            repo,
            ref,
            path,
            manifests.path,
        ],
    )


@dsl.component(base_image="python:3.12-slim")
def notify_rollback(verdict: str, image: str):
    """Placeholder: tell the team (chat, ticket) that the new model did not go out."""
    print(f"model-canary did not promote {image}: {verdict}")


# @dsl.pipeline builds the graph right away, so every component it calls is defined above it.
@dsl.pipeline(name="churn-scorer-train-and-canary")
def churn_pipeline(
    mlflow_tracking_uri: str = "http://mlflow.mlflow.svc:5000",
    manifests_repo: str = "https://github.com/contoso/churn-scorer.git",
    manifests_ref: str = "main",
):
    trained = train(model_name="churn-scorer", mlflow_tracking_uri=mlflow_tracking_uri)
    manifests = fetch_manifests(repo=manifests_repo, ref=manifests_ref, path="k8s")

    deploy = deploy_op(
        model_source=trained.output,
        manifests=manifests.outputs["manifests"],
        registry="myacr.azurecr.io",
        repository="models/churn-scorer",
        base_image="mlserver:1.7.1-sklearn",
        prometheus_url="http://prometheus-server.monitoring.svc:9090",
        steps="10,50,100",
        interval="2m",
        mlflow_tracking_uri=mlflow_tracking_uri,
        registry_auth="basic",
        fail_on_rollback="false",
    )
    # Registry credentials (an ACR token or ACR refresh token, see README.md) from a Kubernetes Secret, so they never
    # appear in the pipeline spec.
    kubernetes.use_secret_as_env(
        deploy,
        secret_name="model-canary",
        secret_key_to_env={
            "registry-username": "MODEL_CANARY_REGISTRY_USERNAME",
            "registry-password": "MODEL_CANARY_REGISTRY_PASSWORD",
        },
    )
    # Builds, pushes and waits out the canary: not something to reuse from the cache.
    deploy.set_caching_options(False)

    with dsl.If(deploy.outputs["verdict"] != "promoted"):
        notify_rollback(verdict=deploy.outputs["verdict"], image=deploy.outputs["image"])


if __name__ == "__main__":
    compiler.Compiler().compile(churn_pipeline, str(Path(__file__).with_name("pipeline.yaml")))
