"""Two real third-party ConnectWise clients, unmodified, used the way their READMEs show
(spec section 12): pyconnectwise 0.6.1.2 over https, connectpyse 0.8.1 over http."""

import uuid
import warnings

import pytest

from emulators.connectwise.app import ConnectWise as ConnectWiseEmulator
from emulators.framework import EmulatorServer
from emulators.tls import certificate, server_context

from ..conftest import CW_HEADERS

CLIENT_ID = CW_HEADERS["clientId"]


@pytest.fixture(scope="module")
def https_server(emulated, tmp_path_factory):
    """The same store served over https, since pyconnectwise hard-codes the scheme."""
    folder = tmp_path_factory.mktemp("tls")
    with EmulatorServer(
        ConnectWiseEmulator(emulated.store), 0, tls=server_context(folder)
    ) as server:
        yield server, certificate(folder)[0]


@pytest.fixture
def manage(https_server, monkeypatch):
    server, bundle = https_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    warnings.filterwarnings("ignore", module="pyconnectwise")
    from pyconnectwise import ConnectWiseManageAPIClient

    return ConnectWiseManageAPIClient(
        "dealer", f"127.0.0.1:{server.port}", CLIENT_ID, "demo-public", "demo-private"
    )


def test_pyconnectwise_discovers_the_codebase_and_lists_with_conditions(manage):
    assert manage.codebase == "v4_6_release/"
    everything = manage.company.companies.get(params={"pageSize": 1000})
    sample = everything[3]
    found = manage.company.companies.get(
        params={"conditions": f'identifier="{sample.identifier}"', "fields": "id,identifier,name"}
    )
    assert [c.id for c in found] == [sample.id]
    assert manage.company.companies.id(sample.id).get().name == sample.name


def test_pyconnectwise_paginates_all_and_counts(manage):
    count = manage.service.tickets.count.get().count
    everything = list(manage.service.tickets.paginated(1, 250, {"orderBy": "id asc"}).all())
    assert len(everything) == count
    assert [t.id for t in everything] == sorted({t.id for t in everything})


def test_pyconnectwise_reads_every_entity_it_models(manage):
    companies = manage.company.companies.get(params={"pageSize": 50})
    agreements = manage.finance.agreements.get(params={"pageSize": 50})
    sites = next(filter(None, (manage.company.companies.id(c.id).sites.get() for c in companies)))
    additions = next(
        filter(None, (manage.finance.agreements.id(a.id).additions.get() for a in agreements))
    )
    assert sites[0].company.id in {c.id for c in companies}
    assert additions[0].agreement_id in {a.id for a in agreements}
    readers = [
        lambda: manage.company.contacts.get(),
        lambda: manage.finance.invoices.get(),
        lambda: manage.service.tickets.get(),
        lambda: manage.time.entries.get(),
        lambda: manage.project.tickets.get(),
        lambda: manage.project.projects.get(),
        lambda: manage.sales.orders.get(),
        lambda: manage.procurement.products.get(),
        lambda: manage.system.members.get(),
        lambda: manage.system.info.get(),
    ]
    for read in readers:
        assert read(), read


def test_pyconnectwise_posts_patches_and_deletes(manage):
    identifier = f"PY{uuid.uuid4().hex[:8]}"
    created = manage.company.companies.post(
        {"identifier": identifier, "name": "Py Co", "addressLine1": "1 St"}
    )
    assert created.identifier == identifier
    patched = manage.company.companies.id(created.id).patch(
        [{"op": "replace", "path": "name", "value": "Py Renamed"}]
    )
    assert patched.name == "Py Renamed"
    manage.company.companies.id(created.id).delete()
    assert manage.company.companies.id(created.id).get().deleted_flag is True


@pytest.fixture
def companies_api(cw_api):
    from connectpyse.company.companies_api import CompaniesAPI

    return CompaniesAPI(url=cw_api, auth=CW_HEADERS)


def test_connectpyse_lists_with_conditions_and_paging(companies_api):
    first = companies_api.get_company_by_id(next(iter(companies_api.get_companies())).id)
    companies_api.conditions = f'identifier="{first.identifier}"'
    companies_api.page, companies_api.pageSize = 1, 2
    assert [c.id for c in companies_api.get_companies()] == [first.id]
    assert companies_api.get_companies_count() == 1
    # No pagination helper: its users step `page` themselves until a page comes back empty.
    companies_api.conditions, companies_api.pageSize, seen = "", 40, []
    for page in range(1, 1000):
        companies_api.page = page
        batch = [c.id for c in companies_api.get_companies()]
        if not batch:
            break
        seen += batch
    assert seen == sorted(set(seen)) and len(seen) == companies_api.get_companies_count()


def test_connectpyse_child_and_custom_field_conditions(companies_api):
    companies_api.pageSize = 1000
    everything = list(companies_api.get_companies())
    typed = {c.id for c in everything if any(t["id"] == 1 for t in getattr(c, "types", None) or [])}
    companies_api.childconditions = "types/id = 1"
    assert {c.id for c in companies_api.get_companies()} == typed != set()
    captions = {f["caption"] for c in everything for f in getattr(c, "customFields", None) or []}
    caption = sorted(captions)[0]
    holders = {
        c.id
        for c in everything
        if any(
            f["caption"] == caption and "value" in f for f in getattr(c, "customFields", None) or []
        )
    }
    companies_api.childconditions = ""
    companies_api.customfieldconditions = f'caption="{caption}" and value!=null'
    assert {c.id for c in companies_api.get_companies()} == holders != set()


def test_connectpyse_creates_updates_and_deletes(companies_api):
    from connectpyse.company.company import Company

    identifier = f"CP{uuid.uuid4().hex[:8]}"
    created = companies_api.create_company(
        Company({"identifier": identifier, "name": "Cp Co", "addressLine1": "2 St"})
    )
    assert created.identifier == identifier
    updated = companies_api.update_company(created.id, "name", "Cp Renamed")
    assert updated.name == "Cp Renamed"
    multi = companies_api.update_company_multiple_keys(
        created.id, {"city": "Tampa", "zip": "33601"}
    )
    assert (multi.city, multi.zip) == ("Tampa", "33601")
    companies_api.delete_company_by_id(created.id)
    assert companies_api.get_company_by_id(created.id).deletedFlag is True
