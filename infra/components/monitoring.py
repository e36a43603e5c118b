"""Alarms on an SNS topic, and one CloudWatch dashboard.

Custom metrics come from Powertools in the functions: namespace ``EventHub``, dimensions
``service=eventhub`` and ``stack=<stack name>`` (so two stacks in one account keep their signals
apart). Every alarm notifies the topic when it fires and when it clears.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c

_GTE = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


def custom_dimensions(stack_name: str) -> dict[str, str]:
    return {"service": c.SERVICE_NAME, "stack": stack_name}


def custom_metric(
    name: str, stack_name: str, *, statistic: str = "Sum", period: Duration = c.ALARM_PERIOD
) -> cw.Metric:
    return cw.Metric(
        namespace=c.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map=custom_dimensions(stack_name),
        statistic=statistic,
        period=period,
    )


def by_source(name: str, stack_name: str) -> cw.MathExpression:
    """One line per ``source`` for metrics emitted with a source dimension as well."""
    return cw.MathExpression(
        expression=(
            f'SEARCH(\'{{{c.METRICS_NAMESPACE},service,source,stack}} MetricName="{name}" '
            f"stack=\"{stack_name}\"', 'Sum', {int(c.ALARM_PERIOD.to_seconds())})"
        ),
        using_metrics={},
        label=f"{name} by source",
        period=c.ALARM_PERIOD,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.Function],
        queues: Mapping[str, sqs.IQueue],
        intake: lambda_.Function,
        copier: lambda_.Function,
        aggregator: lambda_.Function,
        publisher: lambda_.Function | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.stack_name = Stack.of(self).stack_name
        self.topic = self._topic()
        self.alarms: dict[str, cw.Alarm] = {}
        for name, queue in queues.items():
            self._queue_depth_alarm(name, queue)
        for name, function in functions.items():
            self._function_alarms(name, function)
        self._custom_alarms()
        self._iterator_age_alarm(
            "AggregatorIteratorAge",
            aggregator,
            "The aggregator is falling behind the table's stream: counters lag new events.",
        )
        self._iterator_age_alarm(
            "CopierIteratorAge",
            copier,
            "The copier is falling behind the table's stream: presigned result URLs may expire before "
            "they are copied.",
        )
        if publisher is not None:
            self._iterator_age_alarm(
                "PublisherIteratorAge",
                publisher,
                "The publisher is falling behind the table's stream: consumers of the bus get events late.",
            )
        self.dashboard = self._dashboard(functions, queues, intake)

    def _metric(self, name: str) -> cw.Metric:
        return custom_metric(name, self.stack_name)

    def _iterator_age_alarm(self, alarm_id: str, function: lambda_.Function, description: str) -> None:
        self._alarm(
            alarm_id,
            function.metric("IteratorAge", statistic="Maximum", period=Duration.minutes(1)),
            threshold=c.ITERATOR_AGE_ALARM_MS,
            evaluation_periods=5,
            description=description,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def _topic(self) -> sns.Topic:
        # Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS
        # key, and alarm messages hold alarm names and metric values, no event data.
        topic = sns.Topic(self, "AlarmTopic", display_name="Event hub alarms", enforce_ssl=True)
        return topic

    def _alarm(
        self,
        alarm_id: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cw.ComparisonOperator = _GTE,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[alarm_id] = alarm
        return alarm

    def _queue_depth_alarm(self, name: str, queue: sqs.IQueue) -> None:
        self._alarm(
            f"{name}Depth",
            queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=c.ALARM_PERIOD),
            threshold=1,
            description=f"Messages are waiting in the {name} queue: inspect them and redrive.",
        )

    def _function_alarms(self, name: str, function: lambda_.Function) -> None:
        self._alarm(
            f"{name}Errors",
            function.metric_errors(statistic="Sum", period=c.ALARM_PERIOD),
            threshold=1,
            description=f"The {name} function failed (unhandled errors or timeouts).",
        )
        self._alarm(
            f"{name}Throttles",
            function.metric_throttles(statistic="Sum", period=c.ALARM_PERIOD),
            threshold=1,
            description=f"The {name} function was throttled (concurrency limit reached).",
        )

    def _custom_alarms(self) -> None:
        self._alarm(
            "PollerAuthFailed",
            self._metric("PollerAuthFailed"),
            threshold=1,
            description="A provider refused the poller's credential (401/403): rotate the secret.",
        )
        self._alarm(
            "SecretBlank",
            self._metric("SecretBlank"),
            threshold=1,
            description="A connection secret read back blank: it verifies nothing. Fix the secret.",
        )
        self._alarm(
            "SignatureRejectedSpike",
            self._metric("SignatureRejected"),
            threshold=c.SIGNATURE_REJECTION_SPIKE,
            description=f"{c.SIGNATURE_REJECTION_SPIKE} or more webhooks with bad signatures in "
            f"{int(c.ALARM_PERIOD.to_minutes())} min: a rotated secret or someone probing.",
        )
        self._alarm(
            "ArtifactExpired",
            self._metric("ArtifactExpired"),
            threshold=1,
            description="A presigned artifact URL had expired before it was copied (403).",
        )
        self._alarm(
            "ArtifactFailed",
            self._metric("ArtifactFailed"),
            threshold=1,
            description="An artifact copy failed after its retries.",
        )

    def _dashboard(
        self,
        functions: dict[str, lambda_.Function],
        queues: Mapping[str, sqs.IQueue],
        intake: lambda_.Function,
    ) -> cw.Dashboard:
        dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(6))
        wide, half = 24, 12
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Ingest rate by source (EventsStored)",
                left=[self._metric("EventsStored"), by_source("EventsStored", self.stack_name)],
                width=half,
            ),
            cw.GraphWidget(
                title="Duplicates and signature rejections",
                left=[self._metric("DuplicateEvents"), self._metric("SignatureRejected")],
                width=half,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Intake latency p99 (ms)",
                left=[
                    intake.metric_duration(statistic="p99", period=c.ALARM_PERIOD),
                    # From the function URL taking a delivery to its answer (Lambda's URL metric).
                    intake.metric("UrlRequestLatency", statistic="p99", period=c.ALARM_PERIOD),
                ],
                width=half,
            ),
            cw.GraphWidget(
                title="Copy throughput (ArtifactBytesCopied)",
                left=[self._metric("ArtifactBytesCopied")],
                right=[self._metric("ArtifactExpired"), self._metric("ArtifactFailed")],
                width=half,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Queue depths",
                left=[
                    q.metric_approximate_number_of_messages_visible(
                        statistic="Maximum", period=c.ALARM_PERIOD, label=name
                    )
                    for name, q in queues.items()
                ],
                width=half,
            ),
            cw.GraphWidget(
                title="Function errors and throttles",
                left=[
                    f.metric_errors(period=c.ALARM_PERIOD, label=f"{n} errors") for n, f in functions.items()
                ],
                right=[
                    f.metric_throttles(period=c.ALARM_PERIOD, label=f"{n} throttles")
                    for n, f in functions.items()
                ],
                width=half,
            ),
        )
        dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=wide),
        )
        return dashboard
