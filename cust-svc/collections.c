/* collections.c -- what cust-svc keeps, declared once (DESIGN §2). */
#include "cust.h"

static const char *const categories[] = {"hv", "lv_resident", "lv_nonresident", NULL};
static const char *const ad[] = {"AD", NULL};

static const field_def customer_fields[] = {
    {.name = "name", .type = FT_TEXT, .flags = FF_REQUIRED, .doc = "customer name"},
    {.name = "category", .type = FT_ENUM, .flags = FF_REQUIRED, .values = categories,
     .doc = "hv (high voltage), lv_resident, lv_nonresident"},
    {.name = "phone", .type = FT_TEXT, .max_len = 40, .doc = "contact phone"},
    {.name = "address", .type = FT_CODE, .refs = ad, .doc = "structured address (AD code)"},
    {.name = "account_no", .type = FT_TEXT, .flags = FF_UNIQUE, .max_len = 40,
     .doc = "legacy account number 户号, unique when present"},
    {.name = "contract_capacity_kva", .type = FT_NUM, .min = 0, .max = 10000000,
     .doc = "contracted capacity, kVA"},
    FIELDS_END,
};

static const field_def address_fields[] = {
    {.name = "province", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 60, .doc = "省"},
    {.name = "city", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 60, .doc = "市"},
    {.name = "district", .type = FT_TEXT, .flags = FF_REQUIRED, .max_len = 60, .doc = "区/县"},
    {.name = "street", .type = FT_TEXT, .max_len = 100, .doc = "街道/乡镇"},
    {.name = "community", .type = FT_TEXT, .max_len = 100, .doc = "社区/村"},
    {.name = "building", .type = FT_TEXT, .max_len = 60, .doc = "楼栋"},
    {.name = "unit", .type = FT_TEXT, .max_len = 30, .doc = "单元"},
    {.name = "room", .type = FT_TEXT, .max_len = 30, .doc = "房号"},
    {.name = "detail", .type = FT_TEXT, .max_len = 300, .doc = "free-text remainder"},
    {.name = "location", .type = FT_LOCATION, .doc = "position, WGS-84"},
    FIELDS_END,
};

const collection_def cust_collections[] = {
    {.prefix = "CU", .table = "customers", .fields = customer_fields, .statuses = &cust_statuses,
     .doc = "Customer 用户"},
    {.prefix = "AD", .table = "addresses", .fields = address_fields, .statuses = &cust_statuses,
     .doc = "Structured address 结构化地址"},
};
const int cust_ncollections = (int)ARRAY_LEN(cust_collections);

const relation_def cust_relations[] = {{0}};
const int cust_nrelations = 0;
