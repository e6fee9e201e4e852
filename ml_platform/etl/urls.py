
urlpatterns: list = []  # the ETL routes land with the ETL jobs and runs work
