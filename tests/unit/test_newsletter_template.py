"""The newsletter's part of `template.yaml`: the API answers only its distribution, and SES's
bounces and complaints reach the suppress function (and the local stack reads both the same way)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from broadsheet.newsletter.origin import ORIGIN_HEADER
from broadsheet_dev.local.newsletter import http_event, origin_headers
from broadsheet_dev.local.template import event_sources, load_template, serverless_functions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def resource(template: dict[str, Any], logical_id: str, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"][logical_id]
    assert found["Type"] == kind
    return found


def statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in serverless_functions(template)[function]["Policies"]
        for statement in policy.get("Statement", [])
    ]


def api_origin(template: dict[str, Any]) -> dict[str, Any]:
    config = resource(template, "Distribution", "AWS::CloudFront::Distribution")["Properties"]
    (origin,) = [o for o in config["DistributionConfig"]["Origins"] if o["Id"] == "newsletter-api"]
    return dict(origin)


# -- the API answers only requests that came through CloudFront --------------------------------------


def test_the_distribution_sends_the_api_a_secret_header_from_its_own_secret(template: dict[str, Any]) -> None:
    (header,) = api_origin(template)["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_HEADER
    assert header["HeaderValue"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"
    }
    secret = resource(template, "OriginVerifySecret", "AWS::SecretsManager::Secret")["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32
    # Letters and digits only: a header value CloudFront and every HTTP stack carry unchanged.
    assert secret["GenerateSecretString"]["ExcludePunctuation"] is True


def test_only_the_api_function_reads_the_origin_secret(template: dict[str, Any]) -> None:
    functions = serverless_functions(template)
    api = functions["SubscribeFunction"]["Environment"]["Variables"]
    assert api["BROADSHEET_ORIGIN_SECRET_ARN"] == {"Ref": "OriginVerifySecret"}
    readers = {
        name
        for name in functions
        for statement in statements(template, name)
        if statement["Resource"] == {"Ref": "OriginVerifySecret"}
    }
    assert readers == {"SubscribeFunction"}
    (grant,) = [s for s in statements(template, "SubscribeFunction") if s["Sid"] == "OriginSecret"]
    assert grant["Action"] == "secretsmanager:GetSecretValue"


def test_the_api_still_sees_the_viewers_address_from_cloudfront(template: dict[str, Any]) -> None:
    policy = resource(template, "ApiOriginRequestPolicy", "AWS::CloudFront::OriginRequestPolicy")
    headers = policy["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]
    assert "CloudFront-Viewer-Address" in headers


def test_the_local_edge_adds_the_templates_origin_header_over_any_the_client_sends(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # A local stack that ran earlier in this process pointed every client at its moto server.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="origin", SecretString="s" * 48)["ARN"]
        headers = origin_headers(template, {"OriginVerifySecret": arn})
    assert headers == {ORIGIN_HEADER.lower(): "s" * 48}
    forged = {"X-Origin-Verify": "guess", "CloudFront-Viewer-Address": "10.0.0.1:1", "Content-Type": "a/b"}
    event = http_event("POST", "/api/subscribe", forged, b"", "203.0.113.9", headers)
    assert event["headers"]["x-origin-verify"] == "s" * 48
    assert event["headers"]["cloudfront-viewer-address"] == "203.0.113.9:0"
    assert event["headers"]["content-type"] == "a/b"


# -- bounces and complaints reach the suppress function ----------------------------------------------------


def test_newsletter_mail_goes_out_under_the_configuration_set(template: dict[str, Any]) -> None:
    resource(template, "MailConfigurationSet", "AWS::SES::ConfigurationSet")
    functions = serverless_functions(template)
    for name in ("SubscribeFunction", "DigestFunction"):
        variables = functions[name]["Environment"]["Variables"]
        assert variables["BROADSHEET_MAIL_CONFIGURATION_SET"] == {"Ref": "MailConfigurationSet"}


def test_bounces_and_complaints_go_from_ses_through_sns_raw_to_the_feedback_queue(
    template: dict[str, Any],
) -> None:
    destination = resource(template, "MailFeedbackDestination", "AWS::SES::ConfigurationSetEventDestination")[
        "Properties"
    ]
    assert destination["ConfigurationSetName"] == {"Ref": "MailConfigurationSet"}
    assert destination["EventDestination"]["Enabled"] is True
    assert sorted(destination["EventDestination"]["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert destination["EventDestination"]["SnsDestination"] == {"TopicARN": {"Ref": "MailFeedbackTopic"}}

    subscription = resource(template, "MailFeedbackSubscription", "AWS::SNS::Subscription")["Properties"]
    assert subscription["TopicArn"] == {"Ref": "MailFeedbackTopic"}
    assert subscription["Protocol"] == "sqs"
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["MailFeedbackQueue", "Arn"]}
    # The queue's messages are the SES events themselves, as the local stack sends them.
    assert subscription["RawMessageDelivery"] is True


def test_only_ses_for_this_configuration_set_publishes_and_only_the_topic_sends(
    template: dict[str, Any],
) -> None:
    (publish,) = resource(template, "MailFeedbackTopicPolicy", "AWS::SNS::TopicPolicy")["Properties"][
        "PolicyDocument"
    ]["Statement"]
    assert publish["Principal"] == {"Service": "ses.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert (
        "configuration-set/${MailConfigurationSet}"
        in publish["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    )
    assert publish["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    (send,) = resource(template, "MailFeedbackQueuePolicy", "AWS::SQS::QueuePolicy")["Properties"][
        "PolicyDocument"
    ]["Statement"]
    assert send["Principal"] == {"Service": "sns.amazonaws.com"}
    assert send["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Ref": "MailFeedbackTopic"}


def test_the_suppress_function_reads_the_feedback_queue_and_may_only_update_subscribers(
    template: dict[str, Any],
) -> None:
    (source,) = [s for s in event_sources(template) if s.function == "SuppressFunction"]
    assert (source.type, source.source, source.code_uri) == (
        "SQS",
        "MailFeedbackQueue",
        "functions/suppress/",
    )
    assert source.function_response_types == ("ReportBatchItemFailures",)
    (grant,) = statements(template, "SuppressFunction")
    assert grant["Action"] == "dynamodb:UpdateItem"
    assert grant["Resource"] == {"Fn::GetAtt": ["SubscribersTable", "Arn"]}
    queue = resource(template, "MailFeedbackQueue", "AWS::SQS::Queue")["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["MailFeedbackDLQ", "Arn"]}
    alarms = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["MailFeedbackDLQ", "QueueName"]}
    ]
    assert len(alarms) == 1


def test_sam_local_invoke_has_a_bounce_and_a_complaint_to_play() -> None:
    found = sorted(p.name for p in (ROOT / "events").glob("suppress-*.json"))
    assert found == ["suppress-sqs-ses-bounce.json", "suppress-sqs-ses-complaint.json"]
