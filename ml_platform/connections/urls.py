
urlpatterns: list = []  # the connection routes land with the connections work
