# The LMDB storage engine: catalog, items, apply, change feed.
cirrus_unit_test(test_catalog test_catalog.c)
target_link_libraries(test_catalog PRIVATE cirrus_storage)
cirrus_unit_test(test_kv test_kv.c)
target_link_libraries(test_kv PRIVATE cirrus_storage)
cirrus_unit_test(test_apply test_apply.c)
target_link_libraries(test_apply PRIVATE cirrus_storage)
cirrus_unit_test(test_changes test_changes.c)
target_link_libraries(test_changes PRIVATE cirrus_storage)
