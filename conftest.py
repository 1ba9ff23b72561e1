"""Root pytest hooks (they must live here to reach the notebooks collected by nbval)."""


def pytest_collectstart(collector):
    # library warnings on stderr change between versions: never compare stderr of notebook cells
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
