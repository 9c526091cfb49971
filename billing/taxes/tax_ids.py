"""Customer tax ids: Stripe's types, and their format and check digits.

Validation is python-stdnum's, for the types it knows (``VALIDATORS``: EU VAT
numbers of every member state, UK VAT, US EIN, Australian ABN, ...). Other
Stripe types are accepted as given, like Stripe's own unverified types. A value
that fails is a 400 ``tax_id_invalid``. Nothing is looked up in a government
registry (VIES, HMRC): ``verification.status`` is ``unavailable``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from stdnum.exceptions import ValidationError

from core.errors import InvalidRequest

# Every type Stripe accepts (stripe-python's CustomerCreateTaxIdParams).
TAX_ID_TYPES = (
    "ad_nrt ae_trn al_tin am_tin ao_tin ar_cuit au_abn au_acn au_arn au_wpn aw_tin "
    "az_tin ba_tin bb_tin bd_bin bf_ifu bg_uic bh_vat bj_ifu bo_tin br_cnpj br_cpf "
    "bs_tin bw_vat by_tin ca_bn ca_gst_hst ca_pst_bc ca_pst_mb ca_pst_sk ca_qst "
    "cd_nif ch_uid ch_vat ci_vat cl_tin cm_niu cn_tin co_nit cr_tin cv_nif cz_dic "
    "de_stn do_rcn ec_ruc eg_tin es_cif et_tin eu_oss_vat eu_vat fo_vat fr_siren "
    "fr_siret fr_spi gb_vat ge_vat gh_tin gi_tin gn_nif hk_br hr_oib hu_tin ic_nif "
    "id_npwp il_vat in_gst is_kt is_vat it_cf jp_cn jp_rn jp_trn ke_pin kg_tin "
    "kh_tin kr_brn kz_bin la_tin li_uid li_vat lk_vat ma_vat md_cf md_vat me_pib "
    "mk_vat mr_nif mu_vat mx_rfc my_frp my_itn my_sst mz_nuit ng_tin no_vat no_voec "
    "np_pan nz_bn nz_gst om_vat pe_ruc ph_tin pl_nip pt_nif py_ruc ro_tin rs_pib "
    "ru_inn ru_kpp sa_vat sg_gst sg_uen si_tin sm_coe sn_ninea sr_fin sv_nit th_vat "
    "tj_tin tr_tin tt_bir tt_vat tw_vat tz_vat ua_vat ug_tin us_ein uy_ruc uz_tin "
    "uz_vat ve_rif vn_tin za_vat zm_tin zw_tin"
).split()

# Stripe type -> python-stdnum module checking format and check digits.
VALIDATORS = {
    "ar_cuit": "ar.cuit",
    "au_abn": "au.abn",
    "au_acn": "au.acn",
    "br_cnpj": "br.cnpj",
    "br_cpf": "br.cpf",
    "ca_bn": "ca.bn",
    "ca_gst_hst": "ca.bn",
    "ch_uid": "ch.uid",
    "ch_vat": "ch.vat",
    "cl_tin": "cl.rut",
    "cn_tin": "cn.uscc",
    "co_nit": "co.nit",
    "cz_dic": "cz.dic",
    "de_stn": "de.stnr",
    "do_rcn": "do.rnc",
    "ec_ruc": "ec.ruc",
    "es_cif": "es.cif",
    "eu_vat": "eu.vat",
    "fr_siren": "fr.siren",
    "fr_siret": "fr.siret",
    "gb_vat": "gb.vat",
    "hr_oib": "hr.oib",
    "in_gst": "in_.gstin",
    "is_vat": "is_.vsk",
    "it_cf": "it.codicefiscale",
    "jp_cn": "jp.cn",
    "kr_brn": "kr.brn",
    "mx_rfc": "mx.rfc",
    "no_vat": "no.mva",
    "nz_gst": "nz.ird",
    "pe_ruc": "pe.ruc",
    "pl_nip": "pl.nip",
    "pt_nif": "pt.nif",
    "ru_inn": "ru.inn",
    "sg_uen": "sg.uen",
    "tr_tin": "tr.vkn",
    "us_ein": "us.ein",
    "uy_ruc": "uy.rut",
    "ve_rif": "ve.rif",
}
# VAT prefixes that are not the ISO country code.
_VAT_COUNTRY = {"EL": "GR", "XI": "GB"}
MAX_VALUE_LENGTH = 64


@dataclass(frozen=True)
class CheckedTaxId:
    type: str
    value: str
    country: str | None


def _invalid(tax_type: str, value: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid value for {tax_type}: {value!r} is not a valid tax id of that type.",
        param="value",
        code="tax_id_invalid",
    )


def _country(tax_type: str, value: str) -> str | None:
    if tax_type == "eu_vat":
        prefix = value[:2].upper()
        return _VAT_COUNTRY.get(prefix, prefix)
    if tax_type == "eu_oss_vat":
        return None
    return tax_type[:2].upper()


def tax_id_check(*, tax_type: str, value: str) -> CheckedTaxId:
    """Check ``value`` as a tax id of ``tax_type``; 400 ``tax_id_invalid`` if not."""
    if tax_type not in TAX_ID_TYPES:
        raise InvalidRequest(
            f"Invalid tax id type: {tax_type!r}.",
            param="type",
            code="parameter_invalid",
        )
    value = value.strip()
    if not value or len(value) > MAX_VALUE_LENGTH:
        raise _invalid(tax_type, value)
    module_name = VALIDATORS.get(tax_type)
    if module_name is not None:
        module = importlib.import_module(f"stdnum.{module_name}")
        try:
            compact = module.validate(value)
        except ValidationError:
            raise _invalid(tax_type, value) from None
        if tax_type == "ca_gst_hst" and len(compact) != 15:
            raise _invalid(tax_type, value)
        if tax_type == "eu_vat":
            value = compact  # "DE 136 695 976" -> "DE136695976", prefix kept
    return CheckedTaxId(type=tax_type, value=value, country=_country(tax_type, value))
