/* breaks.c -- the kinds of broken link (see breaks.h). */
#include "model/breaks.h"

#include <string.h>

const char *const break_kinds[N_BREAK_KINDS] = {
    [BREAK_CUSTOMER_WITHOUT_METERING_POINT] = "customer_without_metering_point",
    [BREAK_CUSTOMER_WITHOUT_SUPPLY_POINT] = "customer_without_supply_point",
    [BREAK_METERING_POINT_WITHOUT_METER] = "metering_point_without_meter",
    [BREAK_METER_WITHOUT_BOX] = "meter_without_box",
    [BREAK_BOX_WITHOUT_ACCESS_POINT] = "box_without_access_point",
    [BREAK_ACCESS_POINT_WITHOUT_TRANSFORMER_AREA] = "access_point_without_transformer_area",
    [BREAK_TRANSFORMER_WITHOUT_LINE] = "transformer_without_line",
    [BREAK_LINE_WITHOUT_SUBSTATION] = "line_without_substation",
    [BREAK_SUPPLY_POINT_WITHOUT_EQUIPMENT] = "supply_point_without_equipment",
    [BREAK_DEDICATED_TRANSFORMER_WITHOUT_CUSTOMER] = "dedicated_transformer_without_customer",
    [BREAK_DANGLING_CODE] = "dangling_code",
    [BREAK_RETIRED_BUT_LINKED] = "retired_but_linked",
};

int break_kind_known(const char *word)
{
    for (int i = 0; i < N_BREAK_KINDS; i++)
        if (strcmp(break_kinds[i], word) == 0) return 1;
    return 0;
}
