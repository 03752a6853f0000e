/* Keeps the support library non-empty before any helper exists. */
typedef int bf_test_support_unused;
