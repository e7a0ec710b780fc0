# The value model, decimals and the key codec (storage/decimal.c, value.c, keycodec.c).
foreach(t test_decimal test_value test_keycodec)
  cirrus_unit_test(${t} ${t}.c)
  target_link_libraries(${t} PRIVATE cirrus_storage m)
endforeach()
