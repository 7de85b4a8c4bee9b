"""What CloudFormation and the services refuse at deploy time that no linter checks.

Each limit is asserted on the template the SAM transform makes (tests/deployed.py), with the
longest values a deployment can give it: the longest stack name the README allows, the longest
region and partition names, each parameter's MaxLength, each generated name's service maximum.
The unzipped size of a function and its layers is measured on the artefacts of `sam build`:
`scripts/sam-check --build` builds them and runs this module on them (BROADSHEET_MEASURE_BUILD=1).
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from broadsheet_dev.local.errors import TemplateError
from broadsheet_dev.local.intrinsics import resolve
from broadsheet_dev.local.template import load_template, serverless_functions
from tests.deployed import (
    ACCOUNT_ID,
    LONGEST_STACK_NAME,
    PARAMETER_SETS,
    ROOT,
    depends_on,
    references,
    transformed,
)

BUILD = ROOT / ".aws-sam" / "build"
# Lambda: a function and all its layers unzipped; its environment variables, all of them.
UNZIPPED_LIMIT = 250 * 1024 * 1024
ENVIRONMENT_LIMIT = 4 * 1024
LAYERS_LIMIT = 5
# CloudFront Functions: the code of one function.
FUNCTION_CODE_LIMIT = 10 * 1024
# Stack names the README allows: the content bucket's name (63 characters, lowercase) holds one.
STACK_NAME = re.compile(r"[a-z][a-z0-9-]{0,41}")

# The longest value of each pseudo parameter, in any partition and region (a little to spare).
WORST_PSEUDO = {
    "AWS::StackName": LONGEST_STACK_NAME,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Region": "r" * 20,
    "AWS::Partition": "aws-us-gov",
    "AWS::URLSuffix": "amazonaws.com.cn",
}


def _worst_values() -> tuple[dict[tuple[str, str], str], str]:
    """Each (type, "Ref" or attribute)'s longest value, as CloudFormation generates the names."""
    p, r, a, u = (
        WORST_PSEUDO[k] for k in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")
    )
    queue = "q" * 80
    return {
        ("AWS::S3::Bucket", "Ref"): "b" * 63,
        ("AWS::S3::Bucket", "Arn"): f"arn:{p}:s3:::" + "b" * 63,
        ("AWS::DynamoDB::Table", "Ref"): "t" * 255,
        ("AWS::DynamoDB::Table", "Arn"): f"arn:{p}:dynamodb:{r}:{a}:table/" + "t" * 255,
        ("AWS::SQS::Queue", "Ref"): f"https://sqs.{r}.{u}/{a}/{queue}",
        ("AWS::SQS::Queue", "Arn"): f"arn:{p}:sqs:{r}:{a}:{queue}",
        ("AWS::Scheduler::ScheduleGroup", "Ref"): "g" * 64,
        ("AWS::SES::ConfigurationSet", "Ref"): "c" * 64,
        ("AWS::IAM::Role", "Arn"): f"arn:{p}:iam::{a}:role/" + "n" * 64,
        ("AWS::CloudFront::Distribution", "Ref"): "E" * 20,
        ("AWS::CloudFront::Distribution", "DomainName"): "d" * 24 + ".cloudfront.net",
        ("AWS::CloudFront::KeyValueStore", "Arn"): f"arn:{p}:cloudfront::{a}:key-value-store/" + "k" * 36,
        ("AWS::SecretsManager::Secret", "Ref"): f"arn:{p}:secretsmanager:{r}:{a}:secret:"
        + "s" * 512
        + "-abcdef",
    }, "no worst case known"


def worst_refs(template: Mapping[str, Any]) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Refs and attributes at their longest: parameters at MaxLength, resources at their service maximum."""
    refs = dict(WORST_PSEUDO)
    for name, spec in template["Parameters"].items():
        if spec["Type"] == "Number":
            refs[name] = "9" * len(str(spec.get("MaxValue", 10**20)))
        elif "AllowedValues" in spec:
            refs[name] = max(map(str, spec["AllowedValues"]), key=len)
        elif "MaxLength" in spec:
            refs[name] = "x" * int(spec["MaxLength"])
        # Otherwise left out: a value that reaches an environment must have a bound.
    worst, _ = _worst_values()
    attrs: dict[tuple[str, str], str] = {}
    for logical_id, resource in template["Resources"].items():
        for (kind, attribute), value in worst.items():
            if kind != resource["Type"]:
                continue
            if attribute == "Ref":
                refs[logical_id] = value
            else:
                attrs[(logical_id, attribute)] = value
    return refs, attrs


def condition_sets(template: Mapping[str, Any]) -> Iterator[dict[str, bool]]:
    """Every combination of the template's conditions, true or false."""
    names = sorted(template.get("Conditions") or {})
    for values in itertools.product((False, True), repeat=len(names)):
        yield dict(zip(names, values, strict=True))


def of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


# ---------------------------------------------------------------- Lambda


def environment_sizes() -> dict[str, tuple[int, int]]:
    """Each function's environment at its longest: (key and value bytes, bytes as JSON)."""
    template = transformed()
    refs, attrs = worst_refs(template)
    sizes: dict[str, tuple[int, int]] = {}
    for name, function in of_type(template, "AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        plain = json_size = 0
        for conditions in condition_sets(template):
            try:
                values = {k: str(resolve(v, refs, attrs, conditions)) for k, v in variables.items()}
            except TemplateError as error:
                raise AssertionError(
                    f"{name}: give the value a worst case (or a MaxLength): {error}"
                ) from error
            plain = max(plain, sum(len(k.encode()) + len(v.encode()) for k, v in values.items()))
            json_size = max(json_size, len(json.dumps(values, separators=(",", ":")).encode()))
        sizes[name] = (plain, json_size)
    return sizes


def test_each_function_environment_fits_4_kb_at_its_longest() -> None:
    sizes = environment_sizes()
    assert set(sizes) == set(serverless_functions(load_template(ROOT / "template.yaml")))
    for name, (_, json_size) in sizes.items():
        # Counted as JSON (quotes, colons, commas): more than Lambda counts, never less.
        assert json_size <= ENVIRONMENT_LIMIT, f"{name}: {json_size} bytes of environment"


def test_no_function_sets_a_reserved_or_malformed_variable() -> None:
    reserved = {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }  # fmt: skip
    for name, function in of_type(transformed(), "AWS::Lambda::Function").items():
        keys = set(function["Properties"]["Environment"]["Variables"])
        assert not keys & reserved, name
        assert all(re.fullmatch(r"[a-zA-Z]\w+", key) for key in keys), name
        assert len(function["Properties"]["Layers"]) <= LAYERS_LIMIT, name


def built_functions() -> dict[str, list[Path]]:
    """Each built function's folders: its code, then its layers (from .aws-sam/build/template.yaml)."""
    template = load_template(BUILD / "template.yaml")
    resources = template["Resources"]
    return {
        name: [
            BUILD / str(function["CodeUri"]),
            *(
                BUILD / str(resources[layer["Ref"]]["Properties"]["ContentUri"])
                for layer in function["Layers"]
            ),
        ]
        for name, function in serverless_functions(template).items()
    }


def unzipped_bytes(folder: Path) -> int:
    """The bytes Lambda unpacks from a folder's zip: every file's size."""
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


# Only right after a build (tests/conftest.py): `make test` runs the unit tests while
# scripts/sam-check rebuilds.
@pytest.mark.built
def test_each_built_function_and_its_layers_unzip_within_250_mb() -> None:
    functions = built_functions()
    assert set(functions) == set(serverless_functions(load_template(ROOT / "template.yaml")))
    for name, folders in functions.items():
        assert all(folder.is_dir() for folder in folders), f"{name}: build {folders} first"
        # A layer that is all but empty was not built (a failed install leaves only the folder).
        assert all(unzipped_bytes(layer) > 1024 * 1024 for layer in folders[1:]), name
        total = sum(map(unzipped_bytes, folders))
        assert total <= UNZIPPED_LIMIT, f"{name}: {total} bytes unzipped with its layers"


# ---------------------------------------------------------------- names


# (type, property path): the longest name the service takes, and the characters it takes.
NAME_LIMITS: dict[tuple[str, tuple[str, ...]], tuple[int, str]] = {
    ("AWS::S3::Bucket", ("BucketName",)): (63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    ("AWS::SQS::Queue", ("QueueName",)): (80, r"[\w-]+(\.fifo)?"),
    ("AWS::Lambda::Function", ("FunctionName",)): (64, r"[\w-]+"),
    ("AWS::IAM::Role", ("RoleName",)): (64, r"[\w+=,.@-]+"),
    ("AWS::Scheduler::Schedule", ("Name",)): (64, r"[\w.-]+"),
    ("AWS::Scheduler::ScheduleGroup", ("Name",)): (64, r"[\w.-]+"),
    ("AWS::CloudFront::Function", ("Name",)): (64, r"[\w-]+"),
    ("AWS::CloudFront::KeyValueStore", ("Name",)): (64, r"[\w-]+"),
    ("AWS::CloudFront::OriginAccessControl", ("OriginAccessControlConfig", "Name")): (64, r".+"),
    ("AWS::CloudFront::CachePolicy", ("CachePolicyConfig", "Name")): (128, r"[\w-]+"),
    ("AWS::CloudFront::OriginRequestPolicy", ("OriginRequestPolicyConfig", "Name")): (128, r"[\w-]+"),
    ("AWS::CloudFront::ResponseHeadersPolicy", ("ResponseHeadersPolicyConfig", "Name")): (128, r"[\w-]+"),
    ("AWS::ApiGatewayV2::Api", ("Name",)): (128, r".+"),
    ("AWS::DynamoDB::Table", ("TableName",)): (255, r"[\w.-]+"),
    ("AWS::SNS::Topic", ("TopicName",)): (256, r"[\w-]+"),
    ("AWS::SecretsManager::Secret", ("Name",)): (512, r"[\w/+=.@-]+"),
    ("AWS::Logs::LogGroup", ("LogGroupName",)): (512, r"[\w/.#-]+"),
    ("AWS::Lambda::LayerVersion", ("LayerName",)): (140, r"[\w-]+"),
}
# Names that several stacks may share: a layer name gathers versions, each stack deletes its own.
SHARED_NAMES = {"AWS::Lambda::LayerVersion"}
NAME_KEYS = {"BucketName", "QueueName", "FunctionName", "RoleName", "TableName", "TopicName", "LogGroupName",
             "LayerName", "Name"}  # fmt: skip
# Properties spelled like names that point at another resource instead.
REFERENCE_KEYS = {
    ("AWS::Lambda::Permission", "FunctionName"),
    ("AWS::Lambda::EventSourceMapping", "FunctionName"),
}


def explicit_names(template: Mapping[str, Any]) -> Iterator[tuple[str, str, tuple[str, ...], Any]]:
    """Every name the template sets itself: (logical id, type, property path, value)."""
    for logical_id, resource in template["Resources"].items():
        kind, properties = resource["Type"], resource.get("Properties") or {}
        for key, value in properties.items():
            if key in NAME_KEYS and (kind, key) not in REFERENCE_KEYS:
                yield logical_id, kind, (key,), value
            elif key.endswith("Config") and isinstance(value, dict) and "Name" in value:
                yield logical_id, kind, (key, "Name"), value["Name"]


@pytest.mark.parametrize("parameters", PARAMETER_SETS.values(), ids=PARAMETER_SETS.keys())
def test_every_name_set_fits_its_service_for_the_longest_stack_name(parameters: dict[str, str]) -> None:
    template = transformed(parameters)
    refs = {**WORST_PSEUDO, **parameters}
    for logical_id, kind, path, value in explicit_names(template):
        assert (kind, path) in NAME_LIMITS, f"{logical_id}: a new kind of name, {kind} {path}: add its limit"
        limit, pattern = NAME_LIMITS[(kind, path)]
        name = str(resolve(value, refs, {}))
        assert len(name) <= limit, f"{logical_id}: {name!r} is {len(name)} characters, over {limit}"
        assert re.fullmatch(pattern, name), f"{logical_id}: {name!r}"
        # Two stacks in one account and region must never ask for the same name.
        assert kind in SHARED_NAMES or LONGEST_STACK_NAME in name, f"{logical_id}: {name!r} names no stack"


def test_the_stack_names_allowed_fit_the_longest_stack_name_tested() -> None:
    assert STACK_NAME.fullmatch(LONGEST_STACK_NAME)
    assert len(LONGEST_STACK_NAME) == 42
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert STACK_NAME.fullmatch(config["default"]["global"]["parameters"]["stack_name"])


# ---------------------------------------------------------------- S3 to SQS


def test_bucket_notifications_wait_for_the_queue_policy_that_lets_s3_send() -> None:
    template = transformed()
    refs = {**WORST_PSEUDO, **{k: k.lower() for k in template["Resources"]}}
    policies = of_type(template, "AWS::SQS::QueuePolicy")
    checked = 0
    for bucket, resource in of_type(template, "AWS::S3::Bucket").items():
        configurations = (
            resource["Properties"].get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        )
        for configuration in configurations:
            # Named in the template: the queue policy cannot Ref the bucket (that would be a cycle).
            bucket_name = resolve(resource["Properties"]["BucketName"], refs, {})
            bucket_arn = f"arn:{WORST_PSEUDO['AWS::Partition']}:s3:::{bucket_name}"
            (queue,) = set(references(configuration["Queue"]))
            # S3 checks that it may send when the notification is set: the policy must exist first.
            allowing = [
                name
                for name, policy in policies.items()
                if {"Ref": queue} in policy["Properties"]["Queues"]
                and any(
                    s["Effect"] == "Allow"
                    and s["Principal"] == {"Service": "s3.amazonaws.com"}
                    and s["Action"] == "sqs:SendMessage"
                    and resolve(s["Condition"]["ArnEquals"]["aws:SourceArn"], refs, {}) == bucket_arn
                    for s in policy["Properties"]["PolicyDocument"]["Statement"]
                )
            ]
            assert allowing, f"{bucket}: no queue policy lets it send to {queue}"
            assert set(allowing) & set(depends_on(resource)), f"{bucket} must DependsOn {allowing}"
            checked += 1
    assert checked == 6  # articles/, authors/ and media/, each created and removed


# ---------------------------------------------------------------- CloudFront


def test_the_viewer_request_function_fits_10_kb_and_reads_its_one_key_value_store() -> None:
    template = transformed()
    (name, function), *others = of_type(template, "AWS::CloudFront::Function").items()
    assert not others
    properties = function["Properties"]
    assert len(properties["FunctionCode"].encode()) <= FUNCTION_CODE_LIMIT
    config = properties["FunctionConfig"]
    # Key value stores need the 2.0 runtime; `cf.kvs()` without an id needs exactly one store.
    assert config["Runtime"] == "cloudfront-js-2.0"
    (association,) = config["KeyValueStoreAssociations"]
    (store,) = set(references(association["KeyValueStoreARN"]))
    assert template["Resources"][store]["Type"] == "AWS::CloudFront::KeyValueStore"
    assert "cf.kvs()" in properties["FunctionCode"]
    # The distribution can only use a published function.
    assert properties["AutoPublish"] is True
    behaviour = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"][
        "DefaultCacheBehavior"
    ]
    assert behaviour["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": [name, "FunctionARN"]}}
    ]


# ---------------------------------------------------------------- SES


def test_mail_goes_only_from_the_newsletter_sender_the_functions_are_given() -> None:
    template = transformed()
    senders = set()
    for role_name, role in of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                if not any(action.startswith("ses:") for action in actions):
                    continue
                assert statement["Condition"] == {
                    "StringEquals": {"ses:FromAddress": {"Ref": "NewsletterFrom"}}
                }
                senders.add(role_name)
    functions = of_type(template, "AWS::Lambda::Function")
    sending = {name for name, f in functions.items() if set(references(f["Properties"]["Role"])) & senders}
    assert sending == {"SubscribeFunction", "DigestFunction"}
    for name in sending:
        variables = functions[name]["Properties"]["Environment"]["Variables"]
        assert variables["BROADSHEET_NEWSLETTER_FROM"] == {"Ref": "NewsletterFrom"}
