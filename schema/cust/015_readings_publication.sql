-- Datahub receives the readings (the line-loss report, DESIGN §11) as one
-- table, readings, whatever partitions hold them here: rows are published
-- as the partitioned table's own, so a month's new partition needs nothing
-- new on datahub's side (its readings has one default partition,
-- schema/datahub/004_line_loss.sql).
ALTER PUBLICATION cust_datahub ADD TABLE readings;
ALTER PUBLICATION cust_datahub SET (publish_via_partition_root = true);
