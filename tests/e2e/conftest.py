"""The e2e fixture shared by the acceptance tests: the three services as processes on fresh ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jeugdstroom.common.settings import Settings
from tests.conftest import Infra, fresh_settings
from tests.support import ServiceProcess, running_services, service_ports


@pytest.fixture
async def system(infra: Infra, log_dir: Path) -> AsyncIterator[tuple[Settings, dict[str, ServiceProcess]]]:
    settings = service_ports(await fresh_settings(infra))
    async with running_services(settings, log_dir) as procs:
        yield settings, procs
