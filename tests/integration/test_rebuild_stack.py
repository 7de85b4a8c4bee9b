"""`broadsheet rebuild --stack NAME` against a stack found through CloudFormation, as on AWS: the
local stack is a CloudFormation stack on the moto server, named as the template deploys it."""

from __future__ import annotations

import boto3
import pytest

from broadsheet_dev.cli import main
from broadsheet_dev.local.runtime import LocalStack
from broadsheet_dev.local.stack import STACK_NAME
from broadsheet_dev.operations import stack_target
from tests.support import Editor

pytestmark = [pytest.mark.integration]


def test_the_stack_names_its_table_render_queue_and_page_size(stack: LocalStack) -> None:
    target = stack_target(boto3.client("cloudformation"), boto3.client("sqs"), STACK_NAME)
    assert target.table == stack.stack.refs["IndexTable"]
    assert target.render_queue_url == stack.stack.queue_url("RenderQueue")
    assert target.page_size == 3  # tests.support starts the stack with PageSize 3


def test_rebuild_with_a_stack_name_renders_every_page_again(stack: LocalStack, editor: Editor) -> None:
    editor.publish_samples()
    stack.wait_drained()
    pages = sorted(key for key in editor.site_files() if key.endswith("index.html"))
    lost = [pages[0], pages[-1]]
    for key in lost:  # deleted behind the pipeline's back: only a re-render brings them back
        editor.s3.delete_object(Bucket=editor.site, Key=key)

    assert main(["rebuild", "--stack", STACK_NAME]) == 0
    stack.wait_drained()

    assert [key for key in lost if key not in editor.site_files()] == []


def test_rebuild_of_a_stack_without_the_resources_says_so(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn = boto3.client("cloudformation")  # on the stack's moto server, as every client here
    cfn.create_stack(StackName="not-broadsheet", TemplateBody='{"Resources": {}}')
    assert main(["rebuild", "--stack", "not-broadsheet"]) == 1
    assert "has no IndexTable or RenderQueue" in capsys.readouterr().err
