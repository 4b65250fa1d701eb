"""Statement parameters stay out of errors and logs unless a developer asks for them."""

from __future__ import annotations

import pytest
from lathe_common.db import create_engine
from sqlalchemy.exc import IntegrityError

pytestmark = pytest.mark.integration

SECRET = "$argon2id$v=19$m=65536,t=3,p=4$not-for-any-log"


@pytest.mark.parametrize(("hide", "shown"), [(True, False), (False, True)])
async def test_a_failed_statement_shows_its_parameters_only_when_asked(sandbox, hide, shown):
    engine = create_engine(sandbox.engine.url.render_as_string(hide_password=False), pool_size=1, hide_parameters=hide)
    try:
        async with engine.begin() as conn:
            await conn.execute(sandbox.widgets.insert().values(id=4242, name="first"))
        with pytest.raises(IntegrityError) as raised:
            async with engine.begin() as conn:
                await conn.execute(sandbox.widgets.insert().values(id=4242, name=SECRET))
    finally:
        async with engine.begin() as conn:
            await conn.execute(sandbox.widgets.delete().where(sandbox.widgets.c.id == 4242))
        await engine.dispose()
    assert (SECRET in str(raised.value)) is shown
