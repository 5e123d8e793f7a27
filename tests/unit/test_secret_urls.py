"""Service URLs are secrets: shown without their password, validated without being quoted back."""

import pytest

from config.urls import (
    CELERY_REDIS_SCHEMES,
    STORE_SCHEMES,
    SecretUrl,
    check_database_url,
    check_redis_url,
    mask_password,
    parse_sentinel_url,
)

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cr#t-pw@cache:6379/2", "redis://:***@cache:6379/2"),
        ("rediss://app:s3cr#t-pw@cache:6380/0", "rediss://app:***@cache:6380/0"),
        ("unix:///run/redis.sock?db=2&password=s3cr#t-pw", "unix:///run/redis.sock?db=2&password=***"),
        ("postgresql+psycopg://coord:s3cr#t-pw@db:5432/coord", "postgresql+psycopg://coord:***@db:5432/coord"),
        ("postgresql://db/coord?user=coord&password=s3cr#t-pw", "postgresql://db/coord?user=coord&password=***"),
        (
            "sentinel://:s3cr#t-pw@s1:26379/2;sentinel://:s3cr#t-pw@s2:26379",
            "sentinel://:***@s1:26379/2;sentinel://:***@s2:26379",
        ),
        # An unescaped "@" in the password: everything up to the last "@" of the authority is hidden.
        ("redis://:s3cr@t-pw@cache:6379/2", "redis://:***@cache:6379/2"),
        # Not even a URL: nothing to hide, nothing raised.
        ("no url at all", "no url at all"),
        ("redis://cache:6379/2", "redis://cache:6379/2"),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url, shown):
    assert mask_password(url) == shown
    secret = SecretUrl(url)
    assert str(secret) == shown
    assert repr(secret) == f"SecretUrl({shown!r})"
    assert secret.get_secret_value() == url


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://user:pw@cache.example:6380/1",
        "sentinel://s1:26379;sentinel://s2:26379;sentinel://s3",
        "sentinel://:pw@s1:26379/1",
    ],
)
def test_the_broker_accepts_redis_and_sentinel_urls(url):
    check_redis_url(url, CELERY_REDIS_SCHEMES)


def test_the_store_also_accepts_a_unix_socket():
    check_redis_url("unix:///run/redis/redis.sock?db=2", STORE_SCHEMES)


@pytest.mark.parametrize(
    ("url", "schemes", "problem"),
    [
        (f"http://:{SECRET}@cache", STORE_SCHEMES, "the scheme is 'http://'"),
        (f"unix:///run/redis.sock?password={SECRET}", CELERY_REDIS_SCHEMES, "the scheme is 'unix://'"),
        (f"{SECRET}", STORE_SCHEMES, "the scheme is none"),
        (f"redis://:{SECRET}@cache:port/2", STORE_SCHEMES, "is not a valid URL"),
        (f"redis://:{SECRET}@cache:6379/two", STORE_SCHEMES, "must be a number"),
        (f"redis://:{SECRET}@/2", STORE_SCHEMES, "needs a host"),
        (f"sentinel://:{SECRET}@s1:26379;redis://s2:6379", STORE_SCHEMES, "entry 2 of the Sentinel URL"),
        (f"sentinel://:{SECRET}@s1:port", STORE_SCHEMES, "is not a valid URL"),
        ("sentinel://", STORE_SCHEMES, "needs a host"),
        # "#" starts a URL's fragment: an unescaped one in a password breaks the URL, and the message says why.
        ("redis://:s3cr3t#pw@cache:6379/2", STORE_SCHEMES, "special characters are %-escaped"),
    ],
)
def test_a_bad_redis_url_is_refused_without_quoting_it(url, schemes, problem):
    with pytest.raises(ValueError, match=problem) as error:
        check_redis_url(url, schemes)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("url", ["postgresql+psycopg://u@h:5432/db", "postgresql://h/db", "sqlite:///tmp/a.sqlite"])
def test_the_archive_accepts_postgresql_and_sqlite_urls(url):
    check_database_url(url)


@pytest.mark.parametrize("url", [f"mysql://u:{SECRET}@h/db", f"{SECRET}", f"postgresql://u:{SECRET}@h:port/db"])
def test_a_bad_database_url_is_refused_without_quoting_it(url):
    with pytest.raises(ValueError) as error:
        check_database_url(url)
    assert SECRET not in str(error.value)


def test_a_sentinel_url_names_the_sentinels_and_the_masters_database_and_credentials():
    parsed = parse_sentinel_url("sentinel://app:pw%40x@s1:26380/3;sentinel://s2;sentinel://:other@s3:26381/5")
    assert parsed.sentinels == (("s1", 26380), ("s2", 26379), ("s3", 26381))
    # The first entry speaks for the master, as in kombu and Celery.
    assert (parsed.db, parsed.username, parsed.password) == (3, "app", "pw@x")
    assert "pw" not in repr(parsed)
