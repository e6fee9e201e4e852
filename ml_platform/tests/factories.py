"""factory_boy factories for the platform's models."""
import factory
from django.contrib.auth import get_user_model

from ml_platform import models

DEFAULT_PASSWORD = "testpass123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook signature
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ModelEndpoint

    name = factory.Sequence(lambda n: f"Project {n}")
    description = "A test project"
    created_by = factory.SubFactory(UserFactory)


class ETLConfigurationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ETLConfiguration
        django_get_or_create = ("model_endpoint",)

    model_endpoint = factory.SubFactory(ProjectFactory)


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Connection

    model_endpoint = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Connection {n}")
    source_type = models.SourceType.POSTGRESQL
    source_host = "127.0.0.1"
    source_port = 5432
    source_database = "test"
    source_username = "postgres"


class DataSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DataSource

    etl_config = factory.SubFactory(ETLConfigurationFactory)
    name = factory.Sequence(lambda n: f"Job {n}")
    source_type = models.SourceType.POSTGRESQL


class DataSourceTableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DataSourceTable

    data_source = factory.SubFactory(DataSourceFactory)
    schema_name = "public"
    source_table_name = factory.Sequence(lambda n: f"table_{n}")
    dest_table_name = factory.LazyAttribute(lambda t: t.source_table_name)


class ETLRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ETLRun

    data_source = factory.SubFactory(DataSourceFactory)
    etl_config = factory.LazyAttribute(lambda r: r.data_source.etl_config)
    model_endpoint = factory.LazyAttribute(lambda r: r.data_source.etl_config.model_endpoint)
    job_name = factory.LazyAttribute(lambda r: r.data_source.name)
    status = models.RunStatus.COMPLETED


class PipelineRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PipelineRun

    model_endpoint = factory.SubFactory(ProjectFactory)
