"""The AWS side of every port: S3 content and site, DynamoDB, SQS, Scheduler, CloudFront, KVS."""
