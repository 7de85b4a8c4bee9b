"""template.yaml keeps its security and delivery invariants, and the reader returns what it holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from broadsheet.contract.media import SUPERSEDED_GRACE_DAYS, SUPERSEDED_TAG
from broadsheet.render.templating import FEED_CACHE, HTML_CACHE
from broadsheet.runtime.plan import PLANNED_ITEMS
from broadsheet_dev.local.errors import TemplateError
from broadsheet_dev.local.filters import matches
from broadsheet_dev.local.intrinsics import evaluate_conditions, resolve
from broadsheet_dev.local.template import (
    BucketNotification,
    EventSource,
    bucket_notifications,
    event_sources,
    load_template,
    parameter_defaults,
    pseudo_parameters,
    response_headers,
    serverless_functions,
    viewer_request_code,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# What the Lambda python3.13 runtime ships: a layer that carried them would only add weight.
RUNTIME_PACKAGES = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
REFS = {**pseudo_parameters("broadsheet", "eu-west-1", "123456789012")}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def target(value: Any) -> str:
    """The logical id a !Ref or !GetAtt points at."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def pinned(requirements: Path) -> set[str]:
    """The distribution names a requirements file pins, normalised."""
    pins = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return {pin.split("==", 1)[0].strip().lower().replace("_", "-") for pin in pins if pin}


# ---------------------------------------------------------------- buckets


def test_every_bucket_blocks_public_access_and_encrypts(template: dict[str, Any]) -> None:
    buckets = of_type(template, "AWS::S3::Bucket")
    assert set(buckets) == {"ContentBucket", "SiteBucket"}
    for bucket in buckets.values():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert block == dict.fromkeys(
            ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
        )
        encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}


def test_every_bucket_policy_denies_requests_without_tls(template: dict[str, Any]) -> None:
    policies = {
        target(p["Properties"]["Bucket"]): p for p in of_type(template, "AWS::S3::BucketPolicy").values()
    }
    assert set(policies) == set(of_type(template, "AWS::S3::Bucket"))
    for bucket, policy in policies.items():
        denials = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert len(denials) == 1, bucket
        deny = denials[0]
        assert (deny["Principal"], deny["Action"]) == ("*", "s3:*")
        assert {"Fn::GetAtt": [bucket, "Arn"]} in deny["Resource"]
        assert {"Fn::Sub": f"${{{bucket}.Arn}}/*"} in deny["Resource"]


def test_only_this_distribution_reads_the_site_bucket(template: dict[str, Any]) -> None:
    statements = properties(template, "SiteBucketPolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = resolve(
        allow["Condition"]["StringEquals"]["AWS:SourceArn"], {**REFS, "Distribution": "E123"}, {}
    )
    assert source == "arn:aws:cloudfront::123456789012:distribution/E123"
    origin = properties(template, "Distribution")["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    oac = properties(template, "SiteOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )


def test_content_bucket_is_versioned_and_tells_ingest_about_articles_and_authors(
    template: dict[str, Any],
) -> None:
    assert properties(template, "ContentBucket")["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket_notifications(template) == [
        BucketNotification("ContentBucket", event, queue, prefix=prefix)
        for prefix, queue in (
            ("articles/", "IngestQueue"),
            ("authors/", "IngestQueue"),
            ("media/", "MediaQueue"),
        )
        for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
    ]


def test_ingest_queue_accepts_events_from_the_content_bucket_only(template: dict[str, Any]) -> None:
    statement = properties(template, "IngestQueuePolicy")["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    bucket_name = resolve(properties(template, "ContentBucket")["BucketName"], REFS, {})
    source = resolve(statement["Condition"]["ArnEquals"]["aws:SourceArn"], REFS, {})
    assert source == f"arn:aws:s3:::{bucket_name}" == "arn:aws:s3:::broadsheet-content-123456789012"
    assert "IngestQueuePolicy" in template["Resources"]["ContentBucket"]["DependsOn"]


# ---------------------------------------------------------------- queues and the index


def test_render_queue_is_fifo_and_so_is_its_dlq(template: dict[str, Any]) -> None:
    for queue in ("RenderQueue", "RenderDLQ"):
        props = properties(template, queue)
        assert props["FifoQueue"] is True
        assert resolve(props["QueueName"], REFS, {}).endswith(".fifo")
    assert properties(template, "RenderQueue")["ContentBasedDeduplication"] is False


def test_every_function_source_ends_in_a_dlq(template: dict[str, Any]) -> None:
    for source in event_sources(template):
        if source.type == "SQS":
            props = properties(template, source.source)
            redrive = props["RedrivePolicy"]
            assert redrive["maxReceiveCount"] == 5
            dlq = target(redrive["deadLetterTargetArn"])
            assert template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"
            # Lambda's advice for SQS sources: visibility at least six times the function timeout.
            assert props["VisibilityTimeout"] == 6 * source.timeout
        else:
            assert source.on_failure == "PlanDLQ"
            assert source.maximum_retry_attempts == 5
            assert source.bisect_batch_on_function_error


def test_index_table_streams_new_and_old_images(template: dict[str, Any]) -> None:
    props = properties(template, "IndexTable")
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


# ---------------------------------------------------------------- functions


def test_every_function_runs_python313_on_arm(template: dict[str, Any]) -> None:
    functions = serverless_functions(template)
    pipeline = {"IngestFunction", "MediaFunction", "PlanFunction", "RenderFunction", "ReconcileFunction"}
    assert set(functions) == pipeline | {"SubscribeFunction", "DigestFunction", "SuppressFunction"}
    for function in functions.values():
        assert function["Runtime"] == "python3.13"
        assert function["Architectures"] == ["arm64"]
        assert function["Handler"] == "app.lambda_handler"
        assert function["Tracing"] == "Active"
    assert functions["RenderFunction"]["MemorySize"] == 1024


def test_each_function_carries_the_layers_of_what_it_imports_and_nothing_more(
    template: dict[str, Any],
) -> None:
    layers = {
        name: [target(ref) for ref in f["Layers"]] for name, f in serverless_functions(template).items()
    }
    assert layers == {
        "IngestFunction": ["BroadsheetLayer", "MarkdownLayer"],
        "MediaFunction": ["BroadsheetLayer", "ImagingLayer"],
        "PlanFunction": ["BroadsheetLayer"],
        "ReconcileFunction": ["BroadsheetLayer", "MarkdownLayer", "AwsCrtLayer"],
        "RenderFunction": ["BroadsheetLayer", "MarkdownLayer", "AwsCrtLayer"],
        "SubscribeFunction": ["BroadsheetLayer", "CryptographyLayer"],
        "DigestFunction": ["BroadsheetLayer", "CryptographyLayer"],
        # It imports the newsletter package, whose keys need cryptography.
        "SuppressFunction": ["BroadsheetLayer"],
    }
    for name, layer in of_type(template, "AWS::Serverless::LayerVersion").items():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
        assert layer["Metadata"]["BuildArchitecture"] == "arm64"
        assert not RUNTIME_PACKAGES & pinned(ROOT / layer["Properties"]["ContentUri"] / "requirements.txt"), (
            name
        )
    # aws-xray-sdk depends on botocore: the shared layer is built by its Makefile, which installs
    # its complete pinned list without resolving dependencies.
    core = template["Resources"]["BroadsheetLayer"]
    assert core["Properties"]["ContentUri"] == "layers/broadsheet/"
    assert core["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "layers" / "broadsheet" / "Makefile").read_text()
    assert "build-BroadsheetLayer:" in makefile
    assert "--no-deps" in makefile
    # Lambda's layers are read-only: bytecode not shipped is compiled again at every cold start.
    assert "compileall" in makefile
    assert "--invalidation-mode unchecked-hash" in makefile


def test_functions_get_the_settings_environment_and_only_render_knows_the_edge(
    template: dict[str, Any],
) -> None:
    shared = {
        "BROADSHEET_TABLE_NAME",
        "BROADSHEET_CONTENT_BUCKET",
        "BROADSHEET_SITE_BUCKET",
        "BROADSHEET_RENDER_QUEUE_URL",
        "BROADSHEET_INGEST_QUEUE_URL",
        "BROADSHEET_SITE_NAME",
        "BROADSHEET_LANGUAGE",
        "BROADSHEET_PAGE_SIZE",
        "BROADSHEET_INVALIDATION_BUDGET",
        "BROADSHEET_TRACING",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }
    own = {
        "IngestFunction": {
            "BROADSHEET_SCHEDULE_GROUP",
            "BROADSHEET_SCHEDULER_ROLE_ARN",
            "BROADSHEET_INGEST_QUEUE_ARN",
        },
        "MediaFunction": set(),
        "PlanFunction": set(),
        "RenderFunction": {
            "BROADSHEET_SITE_URL",
            "BROADSHEET_DISTRIBUTION_ID",
            "BROADSHEET_ALIAS_STORE_ARN",
            "BROADSHEET_PREVIEW_SECRET_ARN",
        },
        "SuppressFunction": {"BROADSHEET_SUBSCRIBERS_TABLE"},
    }
    for source in event_sources(template):
        assert set(source.environment) == shared | own[source.function], source.function
    render = next(s for s in event_sources(template) if s.function == "RenderFunction")
    assert render.environment["BROADSHEET_DISTRIBUTION_ID"] == {"Ref": "Distribution"}
    assert render.environment["BROADSHEET_ALIAS_STORE_ARN"] == {"Fn::GetAtt": ["AliasStore", "Arn"]}
    ingest = next(s for s in event_sources(template) if s.function == "IngestFunction")
    assert ingest.environment["BROADSHEET_SCHEDULE_GROUP"] == {"Ref": "ArticleSchedules"}
    assert ingest.environment["BROADSHEET_SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert ingest.environment["BROADSHEET_INGEST_QUEUE_ARN"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}


def statement(template: dict[str, Any], function: str, sid: str) -> dict[str, Any]:
    """One statement of a function's inline policy, by its Sid."""
    for policy in serverless_functions(template)[function]["Policies"]:
        for found in (policy.get("Statement") or []) if isinstance(policy, dict) else []:
            if found.get("Sid") == sid:
                return dict(found)
    raise AssertionError(f"{function} has no statement {sid}")


def test_schedules_live_in_their_own_group_and_send_only_to_the_ingest_queue(
    template: dict[str, Any],
) -> None:
    assert template["Resources"]["ArticleSchedules"]["Type"] == "AWS::Scheduler::ScheduleGroup"
    role = properties(template, "SchedulerRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Effect"], trust["Principal"], trust["Action"]) == (
        "Allow",
        {"Service": "scheduler.amazonaws.com"},
        "sts:AssumeRole",
    )
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert statements == [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["IngestQueue", "Arn"]}}
    ]


def test_ingest_manages_schedules_of_its_group_and_passes_only_the_scheduler_role(
    template: dict[str, Any],
) -> None:
    manage = statement(template, "IngestFunction", "ScheduleArticles")
    assert manage["Effect"] == "Allow"
    assert sorted(manage["Action"]) == [
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
        "scheduler:UpdateSchedule",
    ]
    resource = resolve(manage["Resource"], {**REFS, "ArticleSchedules": "articles"}, {})
    assert resource == "arn:aws:scheduler:eu-west-1:123456789012:schedule/articles/*"
    passing = statement(template, "IngestFunction", "PassSchedulerRole")
    assert (passing["Action"], passing["Resource"]) == (
        "iam:PassRole",
        {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
    )
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    granted = {
        action
        for function in serverless_functions(template)
        for policy in serverless_functions(template)[function]["Policies"]
        if isinstance(policy, dict)
        for s in policy.get("Statement") or []
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {a for a in granted if a.startswith(("scheduler:", "iam:"))} == {
        *manage["Action"],
        "iam:PassRole",
    }


def test_ingest_may_read_and_write_index_items_but_not_scan_them(template: dict[str, Any]) -> None:
    index = statement(template, "IngestFunction", "WriteIndex")
    assert index["Resource"] == {"Fn::GetAtt": ["IndexTable", "Arn"]}
    assert sorted(index["Action"]) == [
        f"dynamodb:{action}" for action in ("DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem")
    ]
    # No function holds a SAM policy template: each names its actions itself.
    for function, properties in serverless_functions(template).items():
        policies = properties.get("Policies", [])
        templates = [p for p in policies if isinstance(p, dict) and "Statement" not in p]
        assert templates == [], f"{function} uses a policy template: {templates}"


def test_reconcile_may_set_listing_counters_and_write_no_other_index_item(template: dict[str, Any]) -> None:
    recount = statement(template, "ReconcileFunction", "RecountListings")
    assert (recount["Action"], recount["Resource"]) == (
        "dynamodb:UpdateItem",
        {"Fn::GetAtt": ["IndexTable", "Arn"]},
    )
    # Only items whose partition key is a counter's (`count#…`, or the archive months).
    assert recount["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["count#*", "months"]}
    }
    read = statement(template, "ReconcileFunction", "ReadIndex")
    assert not any(
        a.startswith(("dynamodb:Put", "dynamodb:Delete", "dynamodb:Update")) for a in read["Action"]
    )


def test_plan_and_render_may_write_asked_marks_and_no_other_index_item(template: dict[str, Any]) -> None:
    only_marks = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["asked#*"]}}
    mark = statement(template, "PlanFunction", "MarkAskedPages")
    assert sorted(mark["Action"]) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    assert mark["Condition"] == only_marks
    take = statement(template, "RenderFunction", "TakeAskedMarks")
    assert (take["Action"], take["Condition"]) == ("dynamodb:BatchWriteItem", only_marks)


def test_the_plan_stream_passes_exactly_the_items_that_plan_pages(template: dict[str, Any]) -> None:
    plan = next(s for s in event_sources(template) if s.function == "PlanFunction")

    def passes(pk: str) -> bool:
        return matches(
            {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": "x"}}}}, plan.filters
        )

    assert plan.filters
    for prefix in PLANNED_ITEMS:
        assert passes(f"{prefix}some-slug"), prefix
    # What else the index holds: listing entries, counters, months, uploads, image uses and
    # hashes, the invalidation budget, asked marks.
    others = ("listing#home", "count#tag:x", "months", "uploads#a", "uses#a.jpg", "hash#abc")
    for pk in (*others, "budget#2026-12", "asked#home:0"):
        assert not passes(pk), pk


def test_render_may_read_and_write_the_alias_store_only(template: dict[str, Any]) -> None:
    aliases = statement(template, "RenderFunction", "Aliases")
    assert aliases["Resource"] == {"Fn::GetAtt": ["AliasStore", "Arn"]}
    assert sorted(aliases["Action"]) == [
        f"cloudfront-keyvaluestore:{action}"
        for action in ("DeleteKey", "DescribeKeyValueStore", "GetKey", "ListKeys", "PutKey")
    ]


def test_site_url_is_the_parameter_else_the_domain_else_the_distribution_domain(
    template: dict[str, Any],
) -> None:
    # Only the functions that write the site's address carry it (and so wait for the distribution).
    functions = serverless_functions(template)
    carriers = {
        name
        for name, function in functions.items()
        if "BROADSHEET_SITE_URL" in function["Environment"]["Variables"]
    }
    assert carriers == {"RenderFunction", "SubscribeFunction", "DigestFunction"}
    values = [functions[name]["Environment"]["Variables"]["BROADSHEET_SITE_URL"] for name in sorted(carriers)]
    assert values == [template["Outputs"]["SiteUrl"]["Value"]] * 3
    attrs = {("Distribution", "DomainName"): "d111.cloudfront.net"}
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-90ab-cdef-1234-567890abcdef"
    for given, expected in (
        ({}, "https://d111.cloudfront.net"),
        ({"SiteUrl": "https://news.example"}, "https://news.example"),
        ({"DomainName": "news.example", "CertificateArn": certificate}, "https://news.example"),
        (
            {
                "SiteUrl": "https://www.news.example",
                "DomainName": "news.example",
                "CertificateArn": certificate,
            },
            "https://www.news.example",
        ),
    ):
        refs = {**REFS, **parameter_defaults(template), **given}
        assert resolve(values[0], refs, attrs, evaluate_conditions(template, refs)) == expected, given


def test_a_custom_domain_is_an_alias_with_its_us_east_1_certificate(template: dict[str, Any]) -> None:
    config = properties(template, "Distribution")["DistributionConfig"]
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-90ab-cdef-1234-567890abcdef"
    refs = {
        **REFS,
        **parameter_defaults(template),
        "DomainName": "news.example",
        "CertificateArn": certificate,
    }
    conditions = evaluate_conditions(template, refs)
    assert conditions["HasDomainName"] is True
    assert resolve(config["Aliases"], refs, {}, conditions) == ["news.example"]
    assert resolve(config["ViewerCertificate"], refs, {}, conditions) == {
        "AcmCertificateArn": certificate,
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    defaults = {**REFS, **parameter_defaults(template)}
    conditions = evaluate_conditions(template, defaults)
    assert resolve({"A": config["Aliases"]}, defaults, {}, conditions) == {}
    assert resolve(config["ViewerCertificate"], defaults, {}, conditions) == {
        "CloudFrontDefaultCertificate": True
    }
    # CloudFront takes certificates from us-east-1 only; the rules want both parameters or neither.
    pattern = re.compile(template["Parameters"]["CertificateArn"]["AllowedPattern"])
    assert pattern.fullmatch(certificate)
    assert pattern.fullmatch("")
    assert not pattern.fullmatch(certificate.replace("us-east-1", "eu-west-1"))
    domain = re.compile(template["Parameters"]["DomainName"]["AllowedPattern"])
    assert domain.fullmatch("news.example.com")
    assert not any(domain.fullmatch(bad) for bad in ("https://news.example.com", "news", "News.Example.com"))
    rules = template["Rules"]
    assert {
        (
            rule["RuleCondition"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"],
            a["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"],
        )
        for rule in rules.values()
        for a in rule["Assertions"]
    } == {("DomainName", "CertificateArn"), ("CertificateArn", "DomainName")}


def test_what_cannot_be_rebuilt_outlives_the_stack(template: dict[str, Any]) -> None:
    kept = {
        name
        for name, resource in template["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain" and resource.get("UpdateReplacePolicy") == "Retain"
    }
    assert kept == {"ContentBucket", "SubscribersTable", "NewsletterSecret"}


def test_the_newsletter_api_sends_its_one_route_to_the_subscribe_function(template: dict[str, Any]) -> None:
    assert properties(template, "NewsletterApi")["ProtocolType"] == "HTTP"
    integration = properties(template, "NewsletterApiIntegration")
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["SubscribeFunction", "Arn"]}
    # The local stack's edge hands the function payload 2.0 events (broadsheet_dev.local.newsletter).
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    route = properties(template, "NewsletterApiRoute")
    assert route["RouteKey"] == "ANY /api/{proxy+}"
    assert route["Target"] == {"Fn::Sub": "integrations/${NewsletterApiIntegration}"}
    stage = properties(template, "NewsletterApiStage")
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    permission = properties(template, "NewsletterApiPermission")
    assert permission["FunctionName"] == {"Ref": "SubscribeFunction"}
    source = resolve(permission["SourceArn"], {**REFS, "NewsletterApi": "abc123"}, {})
    assert source == "arn:aws:execute-api:eu-west-1:123456789012:abc123/*/*/api/*"
    origin = next(
        o
        for o in properties(template, "Distribution")["DistributionConfig"]["Origins"]
        if o["Id"] == "newsletter-api"
    )
    assert resolve(origin["DomainName"], {**REFS, "NewsletterApi": "abc123"}, {}) == (
        "abc123.execute-api.eu-west-1.amazonaws.com"
    )


def test_event_sources_are_what_the_template_holds(template: dict[str, Any]) -> None:
    found = [
        (
            s.function,
            s.event,
            s.type,
            s.source,
            s.code_uri,
            s.handler,
            s.batch_size,
            s.function_response_types,
        )
        for s in event_sources(template)
    ]
    partial = ("ReportBatchItemFailures",)
    assert found == [
        (
            "IngestFunction",
            "ContentChanged",
            "SQS",
            "IngestQueue",
            "functions/ingest/",
            "app.lambda_handler",
            10,
            partial,
        ),
        (
            "MediaFunction",
            "MediaChanged",
            "SQS",
            "MediaQueue",
            "functions/media/",
            "app.lambda_handler",
            1,
            partial,
        ),
        (
            "PlanFunction",
            "IndexChanged",
            "DynamoDB",
            "IndexTable",
            "functions/plan/",
            "app.lambda_handler",
            1000,
            partial,
        ),
        (
            "RenderFunction",
            "PageQueued",
            "SQS",
            "RenderQueue",
            "functions/render/",
            "app.lambda_handler",
            10,
            partial,
        ),
        (
            "SuppressFunction",
            "MailFeedback",
            "SQS",
            "MailFeedbackQueue",
            "functions/suppress/",
            "app.lambda_handler",
            10,
            partial,
        ),
    ]
    plan = event_sources(template)[2]
    assert isinstance(plan, EventSource)
    assert plan.starting_position == "TRIM_HORIZON"
    assert plan.environment["POWERTOOLS_SERVICE_NAME"] == "broadsheet"


# ---------------------------------------------------------------- the edge


def test_response_headers_policy_sets_the_security_headers(template: dict[str, Any]) -> None:
    assert response_headers(template) == {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self' https: data:; font-src 'self'; "
            "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        ),
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
    }
    security = properties(template, "ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"
    ]
    assert all(header["Override"] is True for header in security.values())


def test_distribution_serves_https_through_the_function_headers_and_404_page(
    template: dict[str, Any],
) -> None:
    config = properties(template, "Distribution")["DistributionConfig"]
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["Compress"] is True
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "ResponseHeadersPolicy"}
    assert behaviour["FunctionAssociations"] == [
        {
            "EventType": "viewer-request",
            "FunctionARN": {"Fn::GetAtt": ["ViewerRequestFunction", "FunctionARN"]},
        }
    ]
    assert (config["HttpVersion"], config["PriceClass"]) == ("http2and3", "PriceClass_100")
    assert sorted(config["CustomErrorResponses"], key=lambda e: e["ErrorCode"]) == [
        {"ErrorCode": code, "ResponseCode": 404, "ResponsePagePath": "/404.html", "ErrorCachingMinTTL": 10}
        for code in (403, 404)
    ]
    cache = properties(template, "SiteCachePolicy")["CachePolicyConfig"]
    assert (cache["MinTTL"], cache["DefaultTTL"], cache["MaxTTL"]) == (0, 60, 31536000)


def test_viewer_request_function_reads_aliases_from_the_key_value_store(template: dict[str, Any]) -> None:
    props = properties(template, "ViewerRequestFunction")
    assert props["AutoPublish"] is True
    assert props["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert props["FunctionConfig"]["KeyValueStoreAssociations"] == [
        {"KeyValueStoreARN": {"Fn::GetAtt": ["AliasStore", "Arn"]}}
    ]
    code = viewer_request_code(template)
    assert code.startswith("import cf from 'cloudfront';")
    assert "async function handler(event)" in code


# ---------------------------------------------------------------- alarms and outputs


def test_alarms_watch_every_dlq_and_every_function(template: dict[str, Any]) -> None:
    watched = set()
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        (dimension,) = props["Dimensions"]
        watched.add((props["Namespace"], props["MetricName"], target(dimension["Value"])))
    dlqs = {"IngestDLQ", "MediaDLQ", "RenderDLQ", "PlanDLQ", "MailFeedbackDLQ"}
    functions = set(serverless_functions(template))
    assert watched == {("AWS/SQS", "ApproximateNumberOfMessagesVisible", q) for q in dlqs} | {
        ("AWS/Lambda", "Errors", f) for f in functions
    }
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"


def test_outputs_name_the_deployed_resources(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) >= {
        "SiteUrl",
        "DistributionId",
        "ContentBucketName",
        "SiteBucketName",
        "IndexTableName",
        "IngestQueueUrl",
        "RenderQueueUrl",
    }


# ---------------------------------------------------------------- the reader itself


def test_short_form_tags_load_as_long_form(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Conditions:\n"
        "  Enabled: !Not [!Equals [!Ref P, '']]\n"
        "Resources:\n"
        "  Q:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      A: !GetAtt B.Arn\n"
        "      C: !Sub '${AWS::StackName}-q'\n"
        "      D: !If [Enabled, !Select [0, !Split [',', 'x,y']], !Join ['-', [a, b]]]\n"
        "      E: !GetAtt [B, Stream.Arn]\n"
        "      F: !Condition Enabled\n"
    )
    loaded = load_template(path)
    assert loaded["Conditions"]["Enabled"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]}
    assert properties(loaded, "Q") == {
        "A": {"Fn::GetAtt": ["B", "Arn"]},
        "C": {"Fn::Sub": "${AWS::StackName}-q"},
        "D": {
            "Fn::If": [
                "Enabled",
                {"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]},
                {"Fn::Join": ["-", ["a", "b"]]},
            ]
        },
        "E": {"Fn::GetAtt": ["B", "Stream.Arn"]},
        "F": {"Condition": "Enabled"},
    }


def test_a_file_without_resources_is_not_a_template(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("just: text\n")
    with pytest.raises(TemplateError):
        load_template(path)


def test_resolve_handles_sub_variables_literals_and_attributes() -> None:
    value = {
        "Fn::Sub": [
            "${Name}/${AWS::Region}/${Bucket}/${Bucket.Arn}/${!Literal}",
            {"Name": {"Ref": "Param"}},
        ]
    }
    refs = {**REFS, "Param": "p", "Bucket": "b"}
    attrs = {("Bucket", "Arn"): "arn:aws:s3:::b"}
    assert resolve(value, refs, attrs) == "p/eu-west-1/b/arn:aws:s3:::b/${Literal}"


def test_resolve_evaluates_conditions_and_drops_no_value() -> None:
    value = {
        "Keep": {"Fn::If": ["On", "yes", "no"]},
        "Drop": {"Fn::If": ["On", {"Ref": "AWS::NoValue"}, "kept"]},
        "List": ["a", {"Ref": "AWS::NoValue"}, {"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]}],
        "Joined": {"Fn::Join": ["-", ["a", {"Ref": "P"}]]},
    }
    assert resolve(value, {"P": "b"}, {}, {"On": True}) == {
        "Keep": "yes",
        "List": ["a", "y"],
        "Joined": "a-b",
    }


def test_resolve_refuses_what_it_was_not_given() -> None:
    with pytest.raises(TemplateError, match="Ref Missing"):
        resolve({"Ref": "Missing"}, {}, {})
    with pytest.raises(TemplateError, match=r"GetAtt X\.Arn"):
        resolve({"Fn::GetAtt": ["X", "Arn"]}, {}, {})
    with pytest.raises(TemplateError, match="condition On"):
        resolve({"Fn::If": ["On", "a", "b"]}, {}, {})
    with pytest.raises(TemplateError, match="not supported"):
        resolve({"Fn::FindInMap": ["M", "a", "b"]}, {}, {})


def test_conditions_follow_the_parameters(template: dict[str, Any]) -> None:
    defaults = {**REFS, **parameter_defaults(template)}
    assert evaluate_conditions(template, defaults) == {
        "HasSiteUrl": False,
        "HasDomainName": False,
        "HasAlarmEmail": False,
    }
    given = {**defaults, "SiteUrl": "https://news.example", "AlarmEmail": "desk@news.example"}
    assert evaluate_conditions(template, given) == {
        "HasSiteUrl": True,
        "HasDomainName": False,
        "HasAlarmEmail": True,
    }
    assert parameter_defaults(template)["PageSize"] == "10"


def test_markdown_and_json_article_keys_both_reach_ingest(template: dict[str, Any]) -> None:
    notifications = bucket_notifications(template)
    for key in ("articles/a.json", "articles/a.md"):
        for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"):
            assert any(
                n.event == event and key.startswith(n.prefix) and key.endswith(n.suffix)
                for n in notifications
            ), (key, event)


def test_superseded_renditions_expire_by_tag_after_their_grace(template: dict[str, Any]) -> None:
    """Renditions the media function retires (tagged superseded) are deleted by the site bucket's
    lifecycle rule, under media/ only, and never before cached HTML and feeds naming them expire."""
    rules = template["Resources"]["SiteBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [rule] = [r for r in rules if r.get("TagFilters")]
    assert rule["Status"] == "Enabled"
    assert rule["Prefix"] == "media/"
    assert rule["TagFilters"] == [{"Key": SUPERSEDED_TAG, "Value": "true"}]
    assert rule["ExpirationInDays"] == SUPERSEDED_GRACE_DAYS
    longest_cache = max(
        int(n)
        for policy in (HTML_CACHE, FEED_CACHE)
        for n in re.findall(r"(?:max-age|stale-\w+)=(\d+)", policy)
    )
    assert 100 * longest_cache < SUPERSEDED_GRACE_DAYS * 86_400
